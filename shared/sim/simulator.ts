// Runs a scenario for days of virtual time: the fake MacService and Swarming servers on
// loopback, a pass every 10 virtual minutes through the real runPass with the real clients,
// and the fleet model moving the world between passes. Metrics are read from the world itself
// (ground truth), not from what makemac believed.
import { buildClients } from '../clients';
import { parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import { taggedHost, managedProjectName, METADATA } from '../fleet';
import { CallCounter } from '../http';
import { runPass, type PassOptions } from '../pass';
import { plan } from '../plan/plan';
import { SecretResolver } from '../secrets';
import { FleetModel, groupTruth, HOUR_MS, MINUTE_MS, rngStream, VirtualClock, type GroupTruth } from './fleet-model';
import { startMacServiceFake, type MacServiceFake, type MacServiceFault } from './macservice-fake';
import { makemacPlan } from './makemac-policy';
import { POOLS, SCENARIOS, type Scenario, type ScenarioEvent, type ScenarioGroup } from './scenarios';
import { startSwarmingFake, type SwarmingFake } from './swarming-fake';
import { World, type WorldLease } from './world';

export type PolicyName = 'default' | 'go-makemac';
export const POLICY_NAMES: readonly PolicyName[] = ['default', 'go-makemac'];

/** Planners by policy: the product's, and the emulation of Go makemac. */
const PLANNERS: Record<PolicyName, NonNullable<PassOptions['planner']>> = {
  default: plan,
  'go-makemac': makemacPlan,
};

/** Virtual time zero: a Monday, far from any DST change. */
const SIM_START = Date.parse('2026-03-02T00:00:00Z');
const PASS_INTERVAL_MS = 10 * MINUTE_MS;
const SIM_API_KEY = 'sim-macservice-api-key';
const SIM_CERT = '-----BEGIN CERTIFICATE-----\nc2ltdWxhdGVkIGJvdCBjZXJ0\n-----END CERTIFICATE-----\n';
const SIM_KEY = '-----BEGIN PRIVATE KEY-----\nc2ltdWxhdGVkIGJvdCBrZXk=\n-----END PRIVATE KEY-----\n';

export interface SimulationOptions {
  scenario: string | Scenario;
  days: number;
  seed: number;
  policy: PolicyName;
  /** Called after each pass with the share of the virtual time simulated so far (0–1). */
  onProgress?: (done: number) => void;
}

export interface SeriesPoint {
  /** Hours since the start. */
  hours: number;
  /** Σ over groups of min(serving bots, count). */
  healthy: number;
  desired: number;
}

export interface FaultWindow {
  label: string;
  fromHours: number;
  /** Equal to fromHours for a one-off change. */
  toHours: number;
}

export interface SimulationMetrics {
  passes: number;
  /** Passes whose summary said failed (observation, blind host, brake, action error). */
  failedPasses: number;
  brakePasses: number;
  /** Healthy capacity-hours ÷ desired capacity-hours. */
  availability: number;
  /** Lowest healthy share of the groups being rolled out, from the image change to its end; null without a rollout. */
  minRolloutCapacity: number | null;
  /** Hours from the image change until every rolled-out group serves its count on the new image; null without a rollout. */
  rolloutHours: number | 'never' | null;
  /** Longest time from a fault's end (or a count change) to full capacity; null when no fault ended in the run. */
  recoveryHours: number | 'never' | null;
  leaseHours: number;
  apiCalls: Record<string, number>;
  apiCallsTotal: number;
  vacatesByReason: Record<string, number>;
  creates: number;
  renewals: number;
  failedActions: number;
  /** Managed leases whose VM had booted and that expired (never-booted evidence left to expire is not counted). */
  leasesLostToExpiry: number;
  unmanagedLeasesTouched: number;
  /** Tasks cut short because their lease was vacated or expired under them. */
  tasksInterrupted: number;
  /** Hours during which some group's rollout was halted (its image had not booted). */
  rolloutHaltedHours: number;
  /** Leases created on a group's last known good image while its rollout was halted. */
  backfills: number;
}

export interface SimulationResult {
  scenario: string;
  description: string;
  policy: PolicyName;
  days: number;
  seed: number;
  metrics: SimulationMetrics;
  series: SeriesPoint[];
  windows: FaultWindow[];
  /** When this policy's planner halted a rollout, and when it backfilled: the report marks them on the chart. */
  halts: FaultWindow[];
  backfillHours: number[];
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const scenario = typeof options.scenario === 'string' ? SCENARIOS[options.scenario] : options.scenario;
  if (!scenario) throw new Error(`unknown scenario ${JSON.stringify(options.scenario)}`);
  const { seed, policy } = options;
  const endAt = SIM_START + Math.round(options.days * 24 * HOUR_MS);

  const clock = new VirtualClock(SIM_START);
  const world = new World({ now: () => clock.now });
  const model = new FleetModel({ world, clock, seed, dynamics: scenario.dynamics, pools: POOLS });
  const hosts = [...new Set(scenario.groups.map((g) => g.host))].sort();
  const macService = await startMacServiceFake({ world, apiKey: SIM_API_KEY, newLeaseId: () => model.newLeaseId() });
  const swarming = new Map<string, SwarmingFake>();
  const secrets = new SecretResolver({ env: {} });
  try {
    for (const host of hosts) swarming.set(host, await startSwarmingFake({ world, host }));
    model.attach(macService);
    const groups = scenario.groups.map((g) => ({ ...g }));
    seedFleet(model, groups, rngStream(seed, 'seed-fleet'));
    const unmanaged = seedUnmanaged(model);

    const calls = new CallCounter();
    const faultRng = rngStream(seed, 'macservice-faults');
    const jitter = rngStream(seed, 'retry-jitter');
    const applied = new Set<ScenarioEvent>();
    const ended = new Set<ScenarioEvent>();
    let flakyRate = 0;
    let config = simConfig(groups, macService, swarming, policy);
    let clients = buildClients(config, { calls, secrets });

    // One sample a minute, so a dip shorter than the pass interval still shows.
    const samples: Sample[] = [];
    const rolloutKeys = new Set(scenario.events.flatMap((e) => (e.kind === 'image' ? [`${e.host} ${e.hostname}`] : [])));
    const halts: FaultWindow[] = [];
    const backfillHours: number[] = [];
    const record = (at: number) => samples.push(sampleOf(at, groupTruth(model, groups), countManaged(world), rolloutKeys));
    let recordedUpTo = SIM_START - MINUTE_MS;
    const metrics: SimulationMetrics = {
      passes: 0,
      failedPasses: 0,
      brakePasses: 0,
      availability: 1,
      minRolloutCapacity: null,
      rolloutHours: null,
      recoveryHours: null,
      leaseHours: 0,
      apiCalls: {},
      apiCallsTotal: 0,
      vacatesByReason: {},
      creates: 0,
      renewals: 0,
      failedActions: 0,
      leasesLostToExpiry: 0,
      unmanagedLeasesTouched: 0,
      tasksInterrupted: 0,
      rolloutHaltedHours: 0,
      backfills: 0,
    };
    const touched = new Set<string>();

    for (let at = SIM_START; at < endAt; at += PASS_INTERVAL_MS) {
      for (let t = recordedUpTo + MINUTE_MS; t < at; t += MINUTE_MS) {
        model.advanceTo(t);
        record(t);
      }
      model.advanceTo(at);
      const hours = (at - SIM_START) / HOUR_MS;
      // Scenario timeline: config changes and the start and end of faults.
      let configChanged = false;
      for (const event of scenario.events) {
        if (!applied.has(event) && event.at <= hours) {
          applied.add(event);
          if (event.kind === 'image' || event.kind === 'count') {
            const group = groups.find((g) => g.host === event.host && g.hostname === event.hostname)!;
            if (event.kind === 'image') group.image = event.image;
            else group.count = event.count;
            configChanged = true;
          } else if (event.kind === 'swarming-unavailable') {
            swarming.get(event.host)!.inject({ kind: 'status', status: 503, grpcCode: 14 });
          } else if (event.kind === 'swarming-empty') {
            swarming.get(event.host)!.inject({ kind: 'empty' });
          } else {
            flakyRate = event.errorRate;
          }
        }
        if ('until' in event && applied.has(event) && !ended.has(event) && event.until <= hours) {
          ended.add(event);
          if (event.kind === 'macservice-flaky') flakyRate = 0;
          else swarming.get(event.host)!.clearFaults();
        }
      }
      if (configChanged) {
        config = simConfig(groups, macService, swarming, policy);
        clients = buildClients(config, { calls, secrets });
      }
      record(at);
      recordedUpTo = at;

      if (flakyRate > 0) injectFlakiness(macService, flakyRate, faultRng);
      const result = await runPass({
        config,
        clients,
        secrets,
        // Entries are built (that is part of a pass) but not kept: the metrics come from the outcomes.
        logger: { write: () => undefined },
        calls,
        passId: `sim-${metrics.passes + 1}`,
        now: () => clock.now,
        sleep: clock.sleep,
        random: jitter,
        planner: PLANNERS[policy],
      });
      if (flakyRate > 0) macService.clearFaults();

      const halted = (result.plan?.groups ?? []).filter((g) => g.rolloutHalted).map((g) => g.group);
      if (halted.length > 0) {
        metrics.rolloutHaltedHours += PASS_INTERVAL_MS / HOUR_MS;
        const label = `rollout halted: ${halted.join(', ')}`;
        const last = halts.at(-1);
        if (last && last.label === label && last.toHours >= hours - PASS_INTERVAL_MS / HOUR_MS - 1e-9) last.toHours = hours + PASS_INTERVAL_MS / HOUR_MS;
        else halts.push({ label, fromHours: hours, toHours: hours + PASS_INTERVAL_MS / HOUR_MS });
      }
      metrics.passes += 1;
      if (result.summary.outcome === 'failed') metrics.failedPasses += 1;
      if (result.summary.brakes.length > 0) metrics.brakePasses += 1;
      for (const outcome of result.outcomes) {
        const action = outcome.action;
        if (action.kind !== 'create' && unmanaged.has(action.leaseId)) touched.add(action.leaseId);
        if (outcome.outcome === 'error') metrics.failedActions += 1;
        if (outcome.outcome !== 'ok') continue;
        if (action.kind === 'create' && action.reason === 'backfill') {
          metrics.backfills += 1;
          backfillHours.push(hours);
        }
        if (action.kind === 'create') metrics.creates += 1;
        else if (action.kind === 'renew') metrics.renewals += 1;
        else metrics.vacatesByReason[action.reason] = (metrics.vacatesByReason[action.reason] ?? 0) + 1;
      }
      // What reached the wire, whatever the plan said.
      for (const request of macService.requests) {
        if (request.verb !== 'renew' && request.verb !== 'vacate') continue;
        const leaseId: unknown = request.body?.leaseId;
        if (typeof leaseId === 'string' && unmanaged.has(leaseId)) touched.add(leaseId);
      }
      macService.requests.length = 0;
      for (const fake of swarming.values()) fake.requests.length = 0;
      options.onProgress?.((at + PASS_INTERVAL_MS - SIM_START) / (endAt - SIM_START));
    }
    for (let t = recordedUpTo + MINUTE_MS; t < endAt; t += MINUTE_MS) {
      model.advanceTo(t);
      record(t);
    }

    metrics.apiCalls = Object.fromEntries(Object.entries(calls.counts).sort(([a], [b]) => (a < b ? -1 : 1)));
    metrics.apiCallsTotal = Object.values(calls.counts).reduce((sum, n) => sum + n, 0);
    // A never-booted lease left to expire is the evidence of a halted rollout, not a loss.
    metrics.leasesLostToExpiry = model.expired.filter((e) => taggedHost(e.projectName) !== null && e.booted).length;
    metrics.unmanagedLeasesTouched = touched.size;
    metrics.tasksInterrupted = model.interruptedTasks;
    const windows = faultWindows(scenario, endAt);
    Object.assign(metrics, capacityMetrics(samples, scenario, endAt));
    metrics.vacatesByReason = Object.fromEntries(Object.entries(metrics.vacatesByReason).sort(([a], [b]) => (a < b ? -1 : 1)));

    return {
      scenario: scenario.name,
      description: scenario.description,
      policy,
      days: options.days,
      seed,
      metrics,
      series: seriesOf(samples),
      windows,
      halts,
      backfillHours,
    };
  } finally {
    await secrets.close();
    await Promise.all([macService.close(), ...[...swarming.values()].map((fake) => fake.close())]);
  }
}

/** Each policy, in the order given, on the same scenario and seed. */
export async function simulatePolicies(
  scenario: string | Scenario,
  days: number,
  seed: number,
  policies: readonly PolicyName[],
  onProgress?: (policy: PolicyName, done: number) => void,
): Promise<SimulationResult[]> {
  const results: SimulationResult[] = [];
  for (const policy of policies) {
    results.push(await simulate({ scenario, days, seed, policy, ...(onProgress ? { onProgress: (done: number) => onProgress(policy, done) } : {}) }));
  }
  return results;
}

/** The config a scenario's groups make, pointing at the fakes. */
function simConfig(groups: ScenarioGroup[], macService: MacServiceFake, swarming: Map<string, SwarmingFake>, policy: PolicyName): Config {
  return parseConfig(
    {
      macService: { url: macService.url, apiKey: SIM_API_KEY, customer: 'golang' },
      swarming: [...swarming].map(([host, fake]) => ({
        host,
        url: fake.url,
        pool: POOLS[host],
        groups: groups.filter((g) => g.host === host).map((g) => ({ hostname: g.hostname, image: g.image, count: g.count, cert: SIM_CERT, key: SIM_KEY })),
      })),
      // One mutation at a time keeps requests in a fixed order, so a seed replays exactly;
      // Go makemac made no retries.
      policy: { concurrency: 1, ...(policy === 'go-makemac' ? { maxAttempts: 1 } : {}) },
    },
    'simulated config',
  );
}

/**
 * A converged fleet: every group at its count with live, idle bots, leases renewed at
 * different times (expiries spread over the last renewal hour). One lease in five came from
 * the Go makemac, without a `makemac.created` stamp.
 */
function seedFleet(model: FleetModel, groups: ScenarioGroup[], rng: () => number): void {
  const now = model.clock.now;
  let index = 0;
  for (const group of groups) {
    for (let i = 0; i < group.count; i++, index++) {
      const createdAt = now - Math.round((2 + rng() * 24 * 10) * HOUR_MS);
      const metadata = [
        { key: METADATA.swarming, value: group.host },
        { key: METADATA.hostname, value: group.hostname },
        { key: METADATA.cert, value: SIM_CERT },
        { key: METADATA.key, value: SIM_KEY },
        ...(index % 5 === 4 ? [] : [{ key: METADATA.created, value: new Date(createdAt).toISOString() }]),
      ];
      const lease = model.world.addLease({
        leaseId: model.newLeaseId(),
        projectName: managedProjectName(group.host),
        image: group.image,
        createdAt,
        expiresAt: now + Math.round((21 + 5 / 6 + rng() * (7 / 6)) * HOUR_MS),
        metadata,
      });
      model.track(lease, createdAt + 10 * MINUTE_MS);
    }
  }
}

/**
 * Leases makemac must never touch: one under the bare `makemac` tag used before 2024-03-08
 * whose bot sits in the same pool with a managed group's prefix, and one of another project.
 */
function seedUnmanaged(model: FleetModel): Set<string> {
  const now = model.clock.now;
  const make = (projectName: string, host: string, hostname: string, image: string): WorldLease =>
    model.world.addLease({
      leaseId: model.newLeaseId(),
      projectName,
      image,
      createdAt: now - 5 * HOUR_MS,
      expiresAt: now + 60 * 24 * HOUR_MS,
      metadata: [
        { key: METADATA.swarming, value: host },
        { key: METADATA.hostname, value: hostname },
      ],
    });
  const legacy = make('makemac', 'chromium-swarm.appspot.com', 'darwin-amd64-14', '0'.repeat(64));
  const other = make('release-testing', 'chromium-swarm.appspot.com', 'darwin-arm64-15-release', '1'.repeat(64));
  model.track(legacy, now - 4 * HOUR_MS);
  model.track(other, now - 4 * HOUR_MS);
  return new Set([legacy.leaseId, other.leaseId]);
}

function countManaged(world: World): number {
  let count = 0;
  for (const lease of world.leases.values()) if (taggedHost(lease.projectName) !== null) count += 1;
  return count;
}

/**
 * MacService answers each call in order from a list drawn now: a failure with probability
 * `rate`, else a zero-length delay (the fake's way of passing a request through).
 */
function injectFlakiness(fake: MacServiceFake, rate: number, rng: () => number): void {
  for (let i = 0; i < 400; i++) {
    const [fail, kind] = [rng(), rng()];
    const fault: MacServiceFault =
      fail >= rate
        ? { kind: 'delay', ms: 0, times: 1 }
        : { kind: 'status', status: kind < 0.6 ? 503 : kind < 0.85 ? 500 : 429, times: 1 };
    fake.inject('*', fault);
  }
}

function capacity(truth: GroupTruth[]): { healthy: number; desired: number } {
  let healthy = 0;
  let desired = 0;
  for (const group of truth) {
    healthy += Math.min(group.healthy, group.desired);
    desired += group.desired;
  }
  return { healthy, desired };
}

function faultWindows(scenario: Scenario, endAt: number): FaultWindow[] {
  const endHours = (endAt - SIM_START) / HOUR_MS;
  return scenario.events
    .filter((event) => event.at < endHours)
    .map((event) => {
      const until = 'until' in event ? Math.min(event.until, endHours) : event.at;
      const label =
        event.kind === 'image'
          ? `${event.hostname} image → ${event.image.slice(0, 8)}`
          : event.kind === 'count'
            ? `${event.hostname} count → ${event.count}`
            : event.kind === 'macservice-flaky'
              ? `MacService ${Math.round(event.errorRate * 100)}% errors`
              : `${event.host} ${event.kind === 'swarming-empty' ? 'lists no bots' : 'ListBots 503'}`;
      return { label, fromHours: event.at, toHours: until };
    });
}

interface Sample {
  at: number;
  /** Σ over groups of min(serving bots, count). */
  healthy: number;
  desired: number;
  /** Every group serves its count. */
  full: boolean;
  leases: number;
  /** The same, over the groups whose image a scenario event changes. */
  rolloutHealthy: number;
  rolloutDesired: number;
  /** Those groups serve their count on their current image, with no outdated lease left. */
  rolloutDone: boolean;
}

function sampleOf(at: number, truth: GroupTruth[], leases: number, rolloutKeys: ReadonlySet<string>): Sample {
  const rolled = truth.filter((g) => rolloutKeys.has(`${g.host} ${g.hostname}`));
  const all = capacity(truth);
  const rollout = capacity(rolled);
  return {
    at,
    healthy: all.healthy,
    desired: all.desired,
    full: truth.every((g) => g.healthy >= g.desired),
    leases,
    rolloutHealthy: rollout.healthy,
    rolloutDesired: rollout.desired,
    rolloutDone: rolled.every((g) => g.healthyCurrent >= g.desired && g.outdated === 0),
  };
}

/** One point per pass interval, holding the lowest healthy capacity seen within it. */
function seriesOf(samples: Sample[]): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const sample of samples) {
    const slot = Math.floor((sample.at - SIM_START) / PASS_INTERVAL_MS);
    const point = points[slot];
    if (point === undefined) points[slot] = { hours: (slot * PASS_INTERVAL_MS) / HOUR_MS, healthy: sample.healthy, desired: sample.desired };
    else point.healthy = Math.min(point.healthy, sample.healthy);
  }
  return points.filter((p) => p !== undefined);
}

function capacityMetrics(
  samples: Sample[],
  scenario: Scenario,
  endAt: number,
): Pick<SimulationMetrics, 'availability' | 'minRolloutCapacity' | 'rolloutHours' | 'recoveryHours' | 'leaseHours'> {
  const hoursOf = (at: number) => (at - SIM_START) / HOUR_MS;
  const weight = MINUTE_MS / HOUR_MS;
  let healthyHours = 0;
  let desiredHours = 0;
  let leaseHours = 0;
  for (const sample of samples) {
    healthyHours += sample.healthy * weight;
    desiredHours += sample.desired * weight;
    leaseHours += sample.leases * weight;
  }
  const endHours = hoursOf(endAt);

  // Recovery: from each fault's end (or count change) to the first minute at full capacity.
  let recoveryHours: number | 'never' | null = null;
  for (const event of scenario.events) {
    if (event.kind === 'image') continue;
    const from = 'until' in event ? event.until : event.at;
    if (from >= endHours) continue;
    const back = samples.find((s) => hoursOf(s.at) >= from && s.full);
    if (back === undefined) recoveryHours = 'never';
    else if (recoveryHours !== 'never') recoveryHours = Math.max(recoveryHours ?? 0, hoursOf(back.at) - from);
  }

  // Rollouts: the groups whose image changed, from the change until they serve on the new image.
  let minRolloutCapacity: number | null = null;
  let rolloutHours: number | 'never' | null = null;
  const starts = scenario.events.filter((e) => e.kind === 'image' && e.at < endHours).map((e) => e.at);
  if (starts.length > 0) {
    const start = Math.min(...starts);
    const done = samples.find((s) => hoursOf(s.at) >= start && s.rolloutDone);
    rolloutHours = done === undefined ? 'never' : hoursOf(done.at) - start;
    for (const sample of samples) {
      if (hoursOf(sample.at) < start || (done !== undefined && sample.at > done.at)) continue;
      const share = sample.rolloutDesired === 0 ? 1 : sample.rolloutHealthy / sample.rolloutDesired;
      minRolloutCapacity = Math.min(minRolloutCapacity ?? 1, share);
    }
  }
  // Sums of per-minute floats: rounded so the same run always prints the same digits.
  const round = <T>(value: T, digits: number): T => (typeof value === 'number' ? (Number(value.toFixed(digits)) as T) : value);
  return {
    availability: round(desiredHours === 0 ? 1 : healthyHours / desiredHours, 6),
    minRolloutCapacity: round(minRolloutCapacity, 4),
    rolloutHours: round(rolloutHours, 3),
    recoveryHours: round(recoveryHours, 3),
    leaseHours: round(leaseHours, 2),
  };
}
