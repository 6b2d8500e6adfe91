// The fleet as the planner sees it, for `makemac status`: per swarming host and group, what
// the leases are (from the plan's verdicts) and what the next pass would do (from its actions,
// deferrals and refusals). Pure: built from one observation and the plan made from it.
import type { Config } from './config/schema';
import type { Observation } from './observe';
import type { Action, Plan, Verdict } from './plan/types';
import { VERDICT_STATES, VERDICTS, type VerdictState } from './plan/vocabulary';

/** Bumped when a field changes meaning or goes away; new fields may appear within a version. */
export const STATUS_FORMAT_VERSION = 1;

/** What the next pass would do with a set of leases: counts by kind and reason. */
export interface NextPass {
  create: number;
  renew: number;
  /** Vacates by reason (`dead`, `outdated`, `orphaned`, …). */
  vacate: Record<string, number>;
  /** Actions held back for a later pass, by deferral reason (`busy`, `surge`, …). */
  deferred: Record<string, number>;
  /** Health vacates the brake refused. */
  refused: number;
}

/** Lease counts of a set of leases (a group, or a host's leases no group claims). */
export interface LeaseCounts {
  leases: number;
  /** Healthy capacity: a live bot, not quarantined and not in maintenance (idle + busy). */
  healthy: number;
  idle: number;
  busy: number;
  booting: number;
  missing: number;
  dead: number;
  quarantined: number;
  /** A healthy bot in maintenance: kept, but it takes no tasks. */
  maintenance: number;
  /** Its host's bot list failed or is implausible this pass: health not judged. */
  unknown: number;
  /** Serving nothing any more (missing, dead, quarantined: the verdicts whose traits say unhealthy). */
  unhealthy: number;
  /** Runs an image other than its group's current one (counted in its state too). */
  outdated: number;
  /** Leases per verdict state (every state, 0 included), in the planner's own words. */
  states: Record<VerdictState, number>;
  /** ISO time of the first expiry among these leases; null when none has one. */
  soonestExpiry: string | null;
  soonestExpiresInMs: number | null;
  next: NextPass;
}

export interface GroupState extends LeaseCounts {
  group: string;
  image: string;
  desired: number;
  /** Healthy capacity on the group's current image: what `desired` is compared with. */
  healthyCurrent: number;
  /** `desired` healthy leases on the current image and nothing else: no deficit, excess, outdated or broken lease. */
  atCount: boolean;
  /** Its image has not booted on any lease, so its rollout is halted (see the README, "Replacing and halting"). */
  rolloutHalted: boolean;
  /** While halted, the image its deficit is created on; null when none is known good. */
  backfillImage: string | null;
}

export interface HostState {
  host: string;
  pool: string;
  blind: boolean;
  blindReason: string | null;
  /** Bots its Swarming listed, MacService bots or not. */
  botsListed: number;
  groups: GroupState[];
  /** Leases of this host no configured group claims (vacated as orphans). */
  unclaimed: LeaseCounts;
}

export interface RetiredHostState {
  /** A host of `retiredHosts`: its leases are drained. */
  host: string;
  counts: LeaseCounts;
}

export interface LeaseRow {
  leaseId: string;
  swarmingHost: string;
  group: string | null;
  botId: string | null;
  state: string;
  note: string;
  inMaintenance: boolean;
  image: string;
  current: boolean;
  ageMs: number | null;
  expiresInMs: number | null;
  /** What the next pass would do with it: `vacate dead`, `renew expiring`, `deferred busy (vacate outdated)`, or null. */
  next: string | null;
}

export interface FleetStatus {
  formatVersion: number;
  observedAt: string;
  customer: string;
  dryRun: boolean;
  /** Every group at count and healthy, and no host blind: the probe's answer (exit 0). */
  ok: boolean;
  hosts: HostState[];
  retiredHosts: RetiredHostState[];
  /** Leases of the customer that makemac does not manage (another project): never touched. */
  unmanagedLeases: number;
  strayBots: number;
  unparsedBots: number;
  brakes: Plan['brakes'];
  next: NextPass;
  /** Only when asked for (`--leases`). */
  leases?: LeaseRow[];
}

export function fleetStatus(config: Config, observation: Observation, plan: Plan, now: number, options: { leases: boolean }): FleetStatus {
  const inMaintenance = new Map(observation.leases.map((lease) => [lease.leaseId, lease.bot?.inMaintenance === true]));
  const decisions = decisionsByLease(plan);
  const key = (host: string, group: string | null) => `${host}\n${group ?? ''}`;
  const sets = new Map<string, { verdicts: Verdict[]; creates: number }>();
  const setOf = (host: string, group: string | null) => {
    let set = sets.get(key(host, group));
    if (!set) sets.set(key(host, group), (set = { verdicts: [], creates: 0 }));
    return set;
  };
  for (const verdict of plan.verdicts) setOf(verdict.swarmingHost, verdict.group).verdicts.push(verdict);
  const createsDeferred = new Map<string, Record<string, number>>();
  for (const action of plan.actions) if (action.kind === 'create') setOf(action.swarmingHost, action.group).creates += 1;
  for (const entry of plan.deferred) {
    if (entry.action.kind !== 'create') continue;
    const deferred = createsDeferred.get(key(entry.action.swarmingHost, entry.action.group)) ?? {};
    deferred[entry.reason] = (deferred[entry.reason] ?? 0) + 1;
    createsDeferred.set(key(entry.action.swarmingHost, entry.action.group), deferred);
  }
  const countsOf = (host: string, group: string | null): LeaseCounts => {
    const set = setOf(host, group);
    const counts = leaseCounts(set.verdicts, inMaintenance, decisions, now);
    counts.next.create = set.creates;
    for (const [reason, n] of Object.entries(createsDeferred.get(key(host, group)) ?? {})) counts.next.deferred[reason] = (counts.next.deferred[reason] ?? 0) + n;
    return counts;
  };

  const observed = new Map(observation.hosts.map((host) => [host.host, host]));
  const hosts = config.swarming.map((server): HostState => {
    const host = observed.get(server.host);
    const groups = server.groups.map((group): GroupState => {
      const counts = countsOf(server.host, group.hostname);
      const planned = plan.groups.find((g) => g.swarmingHost === server.host && g.group === group.hostname);
      const currentHealthy = setOf(server.host, group.hostname).verdicts.filter(
        (v) => v.current && VERDICTS[v.state].bucket === 'healthy' && !inMaintenance.get(v.leaseId),
      ).length;
      return {
        group: group.hostname,
        image: group.image,
        desired: group.count,
        healthyCurrent: currentHealthy,
        ...counts,
        atCount: !host?.blind && currentHealthy === group.count && counts.leases === group.count,
        rolloutHalted: planned?.rolloutHalted ?? false,
        backfillImage: planned?.backfillImage ?? null,
      };
    });
    return {
      host: server.host,
      pool: server.pool,
      blind: host?.blind ?? true,
      blindReason: host ? host.blindReason : 'not observed',
      botsListed: host?.botCount ?? 0,
      groups,
      unclaimed: countsOf(server.host, null),
    };
  });
  const retiredHosts = config.retiredHosts.map(({ host }) => ({ host, counts: countsOf(host, null) }));

  const status: FleetStatus = {
    formatVersion: STATUS_FORMAT_VERSION,
    observedAt: new Date(now).toISOString(),
    customer: config.macService.customer,
    dryRun: config.dryRun,
    ok: hosts.every((host) => !host.blind && host.groups.every((group) => group.atCount)),
    hosts,
    retiredHosts,
    unmanagedLeases: observation.leases.filter((lease) => lease.managedHost === null).length,
    strayBots: observation.strayBots.length,
    unparsedBots: observation.unparsedBots.length,
    brakes: plan.brakes,
    next: wholePlan(plan),
  };
  if (options.leases) {
    status.leases = plan.verdicts.map((v) => ({
      leaseId: v.leaseId,
      swarmingHost: v.swarmingHost,
      group: v.group,
      botId: v.botId,
      state: v.state,
      note: v.note,
      inMaintenance: inMaintenance.get(v.leaseId) === true,
      image: v.image,
      current: v.current,
      ageMs: v.ageMs,
      expiresInMs: v.expiresInMs,
      next: describeDecision(decisions.get(v.leaseId)),
    }));
  }
  return status;
}

/** What the plan decided for one lease: a vacate, or a vacate held back, and maybe a renewal. */
interface LeaseDecision {
  /** `vacate`, `deferred` or `refused`, with its reason and the action held back; null when kept. */
  decision: { kind: 'vacate' | 'deferred' | 'refused'; reason: string; held: Action | null } | null;
  renew: boolean;
}

/** A lease gets at most one vacate decision (vacate, deferral or refusal); a kept one may also be renewed. */
function decisionsByLease(plan: Plan): Map<string, LeaseDecision> {
  const decisions = new Map<string, LeaseDecision>();
  const of = (leaseId: string) => {
    let entry = decisions.get(leaseId);
    if (!entry) decisions.set(leaseId, (entry = { decision: null, renew: false }));
    return entry;
  };
  for (const action of plan.actions) {
    if (action.kind === 'renew') of(action.leaseId).renew = true;
    else if (action.kind === 'vacate') of(action.leaseId).decision = { kind: 'vacate', reason: action.reason, held: null };
  }
  for (const entry of plan.deferred) {
    if (entry.action.kind !== 'create') of(entry.action.leaseId).decision ??= { kind: 'deferred', reason: entry.reason, held: entry.action };
  }
  for (const entry of plan.refused) of(entry.action.leaseId).decision ??= { kind: 'refused', reason: entry.reason, held: entry.action };
  return decisions;
}

function describeDecision(entry: LeaseDecision | undefined): string | null {
  if (!entry) return null;
  const parts: string[] = [];
  const d = entry.decision;
  if (d) parts.push(d.held === null ? `${d.kind} ${d.reason}` : `${d.kind} ${d.reason} (${d.held.kind} ${d.held.reason})`);
  if (entry.renew) parts.push('renew expiring');
  return parts.length > 0 ? parts.join(', ') : null;
}

function leaseCounts(verdicts: Verdict[], inMaintenance: Map<string, boolean>, decisions: Map<string, LeaseDecision>, now: number): LeaseCounts {
  const states = Object.fromEntries(VERDICT_STATES.map((state) => [state, 0])) as Record<VerdictState, number>;
  // Maintenance bots keep their healthy-* state but are not capacity: counted apart.
  let idle = 0;
  let busy = 0;
  let maintenance = 0;
  let outdated = 0;
  let soonest: number | null = null;
  const next: NextPass = { create: 0, renew: 0, vacate: {}, deferred: {}, refused: 0 };
  for (const verdict of verdicts) {
    states[verdict.state] += 1;
    const healthy = VERDICTS[verdict.state].bucket === 'healthy';
    if (healthy && inMaintenance.get(verdict.leaseId)) maintenance += 1;
    else if (verdict.state === 'healthy-idle') idle += 1;
    else if (verdict.state === 'healthy-busy') busy += 1;
    if (!verdict.current) outdated += 1;
    if (verdict.expiresInMs !== null && (soonest === null || verdict.expiresInMs < soonest)) soonest = verdict.expiresInMs;
    const entry = decisions.get(verdict.leaseId);
    if (entry?.renew) next.renew += 1;
    const decision = entry?.decision;
    if (decision?.kind === 'vacate') next.vacate[decision.reason] = (next.vacate[decision.reason] ?? 0) + 1;
    else if (decision?.kind === 'deferred') next.deferred[decision.reason] = (next.deferred[decision.reason] ?? 0) + 1;
    else if (decision?.kind === 'refused') next.refused += 1;
  }
  const count = (state: VerdictState) => states[state];
  return {
    leases: verdicts.length,
    healthy: idle + busy,
    idle,
    busy,
    booting: count('booting'),
    missing: count('missing'),
    dead: count('dead'),
    quarantined: count('quarantined'),
    maintenance,
    unknown: count('unknown'),
    unhealthy: VERDICT_STATES.filter((state) => VERDICTS[state].bucket === 'unhealthy').reduce((sum, state) => sum + states[state], 0),
    outdated,
    states,
    soonestExpiry: soonest === null ? null : new Date(now + soonest).toISOString(),
    soonestExpiresInMs: soonest,
    next,
  };
}

function wholePlan(plan: Plan): NextPass {
  const next: NextPass = { create: 0, renew: 0, vacate: {}, deferred: {}, refused: plan.refused.length };
  for (const action of plan.actions) {
    if (action.kind === 'create') next.create += 1;
    else if (action.kind === 'renew') next.renew += 1;
    else next.vacate[action.reason] = (next.vacate[action.reason] ?? 0) + 1;
  }
  for (const entry of plan.deferred) next.deferred[entry.reason] = (next.deferred[entry.reason] ?? 0) + 1;
  return next;
}
