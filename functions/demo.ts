// `npm start` / `makemac demo`: a small fleet with the usual troubles, served by the fake
// MacService and Swarming servers on loopback, reconciled by real passes (runPass with the real
// clients) until it converges. A virtual clock moves 15 minutes between passes so new VMs boot.
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import type { ConfigInput } from '../shared/config/schema';
import { formatDuration } from '../shared/duration';
import { managedProjectName, METADATA } from '../shared/fleet';
import { CallCounter } from '../shared/http';
import { TextLogger, type Logger } from '../shared/log';
import { runPass, type PassResult } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { FleetModel, HOUR_MS, MINUTE_MS, QUIET_DYNAMICS, VirtualClock } from '../shared/sim/fleet-model';
import { startMacServiceFake, type MacServiceFakeRequest } from '../shared/sim/macservice-fake';
import { IMAGES, POOLS, PUBLIC_HOST, SECURITY_HOST } from '../shared/sim/scenarios';
import { startSwarmingFake } from '../shared/sim/swarming-fake';
import { World, type WorldLease } from '../shared/sim/world';
import type { CliIo } from './cli-io';
import { parseCommandArgs } from './command-args';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';

const DEMO_START = Date.parse('2026-08-03T09:00:00Z');
const PASS_INTERVAL_MS = 15 * MINUTE_MS;
const MAX_PASSES = 6;
export const DEMO_API_KEY = 'demo-macservice-api-key';
const CERT = '-----BEGIN CERTIFICATE-----\nZGVtbyBib3QgY2VydA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nZGVtbyBib3Qga2V5\n-----END PRIVATE KEY-----\n';
/** The image darwin-arm64-15 ran before the operator moved it to IMAGES.arm64_15. */
const OLD_ARM64_15 = '5c0b3a1e8f2d4c6b9a7e1d3f5b7c9e0a2c4e6f8a1b3d5f7092a4c6e8b0d2f416';

export interface DemoResult {
  exitCode: number;
  converged: boolean;
  passes: number;
  /** The lease makemac must leave alone. */
  unmanagedLeaseId: string;
  /** Every request the fake MacService received. */
  macServiceRequests: MacServiceFakeRequest[];
}

const USAGE = `usage: makemac demo
  Run reconcile passes against a built-in simulated fleet on loopback until it converges
  (what \`npm start\` does). Takes no flags; see \`makemac fakes\` to try passes by hand.`;

export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('demo', USAGE, args, {}, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  useOfflineGoogleDefaults();
  return (await demo(io)).exitCode;
}

export async function demo(io: Pick<CliIo, 'stdout'>): Promise<DemoResult> {
  const out = (line = '') => io.stdout.write(`${line}\n`);
  const clock = new VirtualClock(DEMO_START);
  const world = new World({ now: () => clock.now });
  // Nothing random: every VM boots in 8 minutes and no bot fails during the demo.
  const model = new FleetModel({ world, clock, seed: 1, dynamics: { ...QUIET_DYNAMICS, bootMedianMs: 8 * MINUTE_MS }, pools: POOLS });
  const macService = await startMacServiceFake({ world, apiKey: DEMO_API_KEY, newLeaseId: () => model.newLeaseId() });
  const publicSwarming = await startSwarmingFake({ world, host: PUBLIC_HOST });
  const securitySwarming = await startSwarmingFake({ world, host: SECURITY_HOST });
  model.attach(macService);
  const secrets = new SecretResolver({ env: {} });
  try {
    const config = parseConfig(
      demoConfigDocument({ macService: macService.url, [PUBLIC_HOST]: publicSwarming.url, [SECURITY_HOST]: securitySwarming.url }),
      'demo config',
    );
    const fleet = seedDemoFleet(model);

    out('makemac demo: a simulated fleet on loopback fakes of MacService and Swarming, reconciled by real passes.');
    out(`Two Swarming hosts, four groups, ${config.swarming.reduce((n, s) => n + s.groups.reduce((m, g) => m + g.count, 0), 0)} leases wanted. What the passes will find:`);
    for (const line of fleet.story) out(`  • ${line}`);
    out(`Virtual clock starts at ${new Date(DEMO_START).toISOString()}; a pass runs every ${formatDuration(PASS_INTERVAL_MS)}; new VMs boot in about 8m.`);

    const calls = new CallCounter();
    const clients = buildClients(config, { calls, secrets });
    let converged = false;
    let passes = 0;
    let failedPass = false;
    while (passes < MAX_PASSES && !converged) {
      if (passes > 0) model.advanceTo(clock.now + PASS_INTERVAL_MS);
      passes += 1;
      const offset = formatDuration(clock.now - DEMO_START);
      out();
      out(`━━ Pass ${passes} at ${new Date(clock.now).toISOString().slice(11, 16)} UTC (+${offset === '0ms' ? '0m' : offset}) ${'━'.repeat(60)}`);
      const text = new TextLogger(io.stdout);
      // The per-group sentences are replaced by the fleet table below.
      const logger: Logger = { write: (entry) => entry.fields.event !== 'group.status' && text.write(entry) };
      // Between passes the clock jumps; during one it runs at real speed, so durations are real.
      const passStartedAt = performance.now();
      const result = await runPass({
        config,
        clients,
        secrets,
        logger,
        calls,
        passId: `demo-${passes}`,
        now: () => clock.now + Math.round(performance.now() - passStartedAt),
        sleep: clock.sleep,
      });
      out();
      for (const line of fleetTable(result)) out(line);
      if (result.summary.outcome !== 'ok') failedPass = true;
      converged = isConverged(result);
    }

    const touched = macService.requests.filter(
      (r) => (r.verb === 'renew' || r.verb === 'vacate') && r.body?.leaseId === fleet.unmanagedLeaseId,
    ).length;
    const untouched = touched === 0 && world.leases.has(fleet.unmanagedLeaseId);
    out();
    if (converged) {
      out(`Converged after ${passes} passes: every group has its count of healthy bots on its current image, and the last pass had nothing to do.`);
    } else {
      out(`NOT converged after ${passes} passes.`);
    }
    out(
      untouched
        ? `The unmanaged lease ${fleet.unmanagedLeaseId} (project "release-testing") was left alone: no renew or vacate was sent for it.`
        : `ERROR: the unmanaged lease ${fleet.unmanagedLeaseId} was touched (${touched} requests).`,
    );
    out(`API calls in all: ${Object.entries(calls.counts).map(([endpoint, n]) => `${endpoint} ${n}`).join(', ')}.`);
    const ok = converged && untouched && !failedPass;
    return { exitCode: ok ? 0 : 1, converged, passes, unmanagedLeaseId: fleet.unmanagedLeaseId, macServiceRequests: macService.requests };
  } finally {
    await secrets.close();
    await Promise.all([macService.close(), publicSwarming.close(), securitySwarming.close()]);
  }
}

/** The demo's config: two Swarming hosts, four groups; `urls` of the fakes by host, and of MacService. */
export function demoConfigDocument(urls: Record<string, string> & { macService: string }): ConfigInput {
  return {
    macService: { url: urls.macService, apiKey: DEMO_API_KEY, customer: 'golang' },
    swarming: [
      {
        host: PUBLIC_HOST,
        url: urls[PUBLIC_HOST],
        pool: POOLS[PUBLIC_HOST]!,
        groups: [
          { hostname: 'darwin-amd64-14', image: IMAGES.amd64_14, count: 3, cert: CERT, key: KEY },
          { hostname: 'darwin-arm64-15', image: IMAGES.arm64_15, count: 2, cert: CERT, key: KEY },
          { hostname: 'darwin-arm64-26', image: IMAGES.arm64_26, count: 1, cert: CERT, key: KEY },
        ],
      },
      {
        host: SECURITY_HOST,
        url: urls[SECURITY_HOST],
        pool: POOLS[SECURITY_HOST]!,
        groups: [{ hostname: 'darwin-arm64-15-security', image: IMAGES.arm64_15, count: 2, cert: CERT, key: KEY }],
      },
    ],
  };
}

/** The demo's starting fleet: a few healthy leases and one of each trouble a pass must handle. */
export function seedDemoFleet(model: FleetModel): { story: string[]; unmanagedLeaseId: string } {
  const now = model.clock.now;
  const story: string[] = [];
  const lease = (host: string, hostname: string, image: string, opts: { ageHours: number; expiresInHours?: number; legacy?: boolean; project?: string }) => {
    const createdAt = now - opts.ageHours * HOUR_MS;
    return model.world.addLease({
      leaseId: model.newLeaseId(),
      projectName: opts.project ?? managedProjectName(host),
      image,
      createdAt,
      expiresAt: now + (opts.expiresInHours ?? 23) * HOUR_MS,
      metadata: [
        { key: METADATA.swarming, value: host },
        { key: METADATA.hostname, value: hostname },
        { key: METADATA.cert, value: CERT },
        { key: METADATA.key, value: KEY },
        ...(opts.legacy ? [] : [{ key: METADATA.created, value: new Date(createdAt).toISOString() }]),
      ],
    });
  };
  const booted = (l: WorldLease) => l.createdAt + 8 * MINUTE_MS;
  const short = (l: WorldLease) => l.leaseId.slice(0, 8);

  // darwin-amd64-14 (count 3): one healthy, one from the Go makemac about to need renewal, one dead.
  model.track(lease(PUBLIC_HOST, 'darwin-amd64-14', IMAGES.amd64_14, { ageHours: 30 }), now - 30 * HOUR_MS);
  const legacy = lease(PUBLIC_HOST, 'darwin-amd64-14', IMAGES.amd64_14, { ageHours: 50, expiresInHours: 20, legacy: true });
  model.track(legacy, booted(legacy));
  story.push(`darwin-amd64-14: lease ${short(legacy)} was made by the Go makemac (no creation stamp) and expires in 20h: adopted and renewed.`);
  const dead = lease(PUBLIC_HOST, 'darwin-amd64-14', IMAGES.amd64_14, { ageHours: 40 });
  model.track(dead, booted(dead));
  model.silence(dead.leaseId, now - 2 * HOUR_MS);
  story.push(`darwin-amd64-14: lease ${short(dead)}'s bot has been dead for 2h: vacated and replaced.`);

  // darwin-arm64-15 (count 2): the operator moved it to a new image; one lease still runs the old one, busy.
  model.track(lease(PUBLIC_HOST, 'darwin-arm64-15', IMAGES.arm64_15, { ageHours: 5 }), now - 5 * HOUR_MS + 8 * MINUTE_MS);
  const outdated = lease(PUBLIC_HOST, 'darwin-arm64-15', OLD_ARM64_15, { ageHours: 70 });
  model.track(outdated, booted(outdated), {
    bot: { taskId: '6b1f2c3d4e5f6010', taskName: 'go-darwin-arm64-15 gotip' },
    taskEndsAt: now + 20 * MINUTE_MS,
  });
  story.push(`darwin-arm64-15: lease ${short(outdated)} runs the previous image and is busy for 20 more minutes: replaced only after a new one is up and the task is done.`);

  // darwin-arm64-26 (count 1): newly configured, no lease yet.
  story.push('darwin-arm64-26: just added to the config with count 1: a lease is created.');

  // chrome-swarming darwin-arm64-15-security (count 2): one healthy, one whose VM never came up.
  model.track(lease(SECURITY_HOST, 'darwin-arm64-15-security', IMAGES.arm64_15, { ageHours: 12 }), now - 12 * HOUR_MS + 8 * MINUTE_MS);
  const neverBooted = lease(SECURITY_HOST, 'darwin-arm64-15-security', IMAGES.arm64_15, { ageHours: 3 });
  model.track(neverBooted, null);
  story.push(`darwin-arm64-15-security: lease ${short(neverBooted)} was created 3h ago and its bot never connected: vacated as missing and replaced.`);

  // Not makemac's: another project's VM, whose bot sits in the same pool.
  const unmanaged = lease(PUBLIC_HOST, 'darwin-arm64-15-release', IMAGES.arm64_15, { ageHours: 26, expiresInHours: 2, project: 'release-testing' });
  model.track(unmanaged, booted(unmanaged));
  story.push(`lease ${short(unmanaged)} belongs to project "release-testing" and expires in 2h: not makemac's, so it is never renewed or vacated.`);
  return { story, unmanagedLeaseId: unmanaged.leaseId };
}

function fleetTable(result: PassResult): string[] {
  const header = ['HOST', 'GROUP', 'HEALTHY', 'BUSY', 'BOOTING', 'UNHEALTHY', 'OUTDATED', 'CREATED', 'VACATED', 'RENEWED'];
  const widths = [28, 26, 8, 5, 8, 10, 9, 8, 8, 8];
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' ').trimEnd();
  const lines = ['Fleet as this pass found it, and what it did:', row(header)];
  for (const g of result.summary.groups) {
    lines.push(
      row([
        g.swarmingHost,
        g.group,
        `${g.healthy}/${g.desired}`,
        String(g.busy),
        String(g.booting),
        String(g.unhealthy),
        String(g.outdated),
        String(g.created),
        String(g.vacated),
        String(g.renewed),
      ]),
    );
  }
  return lines;
}

/** Nothing left to do: a clean pass with no action, deferral or refusal, every group at count on its image. */
function isConverged(result: PassResult): boolean {
  const { summary, plan } = result;
  return (
    summary.outcome === 'ok' &&
    plan !== null &&
    plan.actions.length === 0 &&
    plan.deferred.length === 0 &&
    plan.refused.length === 0 &&
    summary.groups.every((g) => g.healthy === g.desired && g.outdated === 0 && g.leases === g.desired)
  );
}
