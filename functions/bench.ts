// `npm run bench`: full passes (runPass with the real clients) against the loopback fakes for
// fleets of 100, 1,000 and 10,000 leases, every API call delayed by a fixed latency. Measures
// wall time at concurrency 8 against 1, API calls per steady-state pass against Go makemac's
// policy (which renews every lease every pass), and the process's peak memory.
import { createHash } from 'node:crypto';
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { MAX_GROUP_COUNT } from '../shared/config/schema';
import { managedProjectName, METADATA } from '../shared/fleet';
import { CallCounter } from '../shared/http';
import type { Logger } from '../shared/log';
import { runPass, type PassOptions, type PassResult } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { botDimensions, HOUR_MS, MINUTE_MS, rngStream } from '../shared/sim/fleet-model';
import { startMacServiceFake } from '../shared/sim/macservice-fake';
import { makemacPlan } from '../shared/sim/makemac-policy';
import { BASE_GROUPS, POOLS } from '../shared/sim/scenarios';
import { startSwarmingFake } from '../shared/sim/swarming-fake';
import { World } from '../shared/sim/world';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { progressLine } from './progress';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';

const USAGE = `usage: makemac bench [--sizes 100,1000,10000] [--latency-ms 5]
  --sizes       fleet sizes in leases, comma-separated (each 10 to 20000)
  --latency-ms  delay added to every MacService and Swarming call (0 to 100, default 5)`;

const API_KEY = 'bench-api-key';
const CERT = '-----BEGIN CERTIFICATE-----\nYmVuY2ggY2VydA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nYmVuY2gga2V5\n-----END PRIVATE KEY-----\n';

/** Shares of a fleet needing action in a typical pass (besides the renewals the expiry spread brings). */
const ACTION_SHARES = { dead: 0.01, missing: 0.005, quarantined: 0.005, deficit: 0.01, busy: 0.4 } as const;

interface BenchGroup {
  host: string;
  hostname: string;
  image: string;
  count: number;
}

/**
 * Production's group shape (scenarios.ts BASE_GROUPS), scaled to `size` leases. A scaled group
 * above the config's MAX_GROUP_COUNT is split into parts with their own hostname and image, as
 * an operator would have to.
 */
function groupsOf(size: number): BenchGroup[] {
  const total = BASE_GROUPS.reduce((n, g) => n + g.count, 0);
  let left = size;
  return BASE_GROUPS.flatMap((g, i) => {
    const count = i === BASE_GROUPS.length - 1 ? left : Math.round((g.count / total) * size);
    left -= count;
    const parts = Math.max(1, Math.ceil(count / MAX_GROUP_COUNT));
    return Array.from({ length: parts }, (_, part) => ({
      host: g.host,
      hostname: parts === 1 ? g.hostname : `${g.hostname}-part${part + 1}`,
      image: parts === 1 ? g.image : createHash('sha256').update(`${g.image}/${part}`).digest('hex'),
      count: Math.floor(count / parts) + (part < count % parts ? 1 : 0),
    }));
  });
}

/**
 * A fleet of `size` leases as a pass meets it. `steady`: all healthy, nothing to do but the
 * renewals. Otherwise also dead, missing and quarantined bots and a small deficit, by ACTION_SHARES.
 * Expiries are spread over the last renewal window, as passes leave them.
 */
function buildWorld(size: number, steady: boolean): { world: World; groups: BenchGroup[] } {
  const world = new World();
  const now = world.now();
  const rng = rngStream(size, steady ? 'bench-steady' : 'bench-actions');
  const groups = groupsOf(size);
  let serial = 0;
  for (const group of groups) {
    const leases = steady ? group.count : group.count - Math.ceil(group.count * ACTION_SHARES.deficit);
    for (let i = 0; i < leases; i++) {
      serial += 1;
      const roll = steady ? 1 : rng();
      const missing = roll >= ACTION_SHARES.dead && roll < ACTION_SHARES.dead + ACTION_SHARES.missing;
      const createdAt = missing ? now - 3 * HOUR_MS : now - Math.round((3 + rng() * 200) * HOUR_MS);
      const lease = world.addLease({
        leaseId: `${serial.toString(16).padStart(8, '0')}-0000-4000-a000-${Math.floor(rng() * 2 ** 48).toString(16).padStart(12, '0')}`,
        projectName: managedProjectName(group.host),
        image: group.image,
        createdAt,
        expiresAt: now + Math.round((21 * 60 + 50 + rng() * 70) * MINUTE_MS),
        metadata: [
          { key: METADATA.swarming, value: group.host },
          { key: METADATA.hostname, value: group.hostname },
          { key: METADATA.cert, value: CERT },
          { key: METADATA.key, value: KEY },
          { key: METADATA.created, value: new Date(createdAt).toISOString() },
        ],
      });
      if (missing) continue;
      const dead = roll < ACTION_SHARES.dead;
      const quarantined = !dead && roll < ACTION_SHARES.dead + ACTION_SHARES.missing + ACTION_SHARES.quarantined;
      const busy = !dead && !quarantined && rng() < ACTION_SHARES.busy;
      world.addBot(group.host, {
        botId: `${group.hostname}--${lease.leaseId}.golang.c3.macservice.goog`,
        isDead: dead,
        quarantined,
        taskId: busy ? `6c${serial.toString(16).padStart(12, '0')}10` : '',
        firstSeenAt: createdAt + 10 * MINUTE_MS,
        lastSeenAt: dead ? now - 2 * HOUR_MS : now,
        dimensions: botDimensions(POOLS[group.host]!, group.hostname),
      });
    }
  }
  return { world, groups };
}

interface PassMeasure {
  wallMs: number;
  calls: Record<string, number>;
  totalCalls: number;
  actions: number;
  byKind: Record<string, number>;
  failed: number;
}

/** One full pass over a fresh copy of the fleet, against fakes that delay every call. */
async function measurePass(size: number, steady: boolean, concurrency: number, latencyMs: number, planner?: PassOptions['planner']): Promise<PassMeasure> {
  const { world, groups } = buildWorld(size, steady);
  const macService = await startMacServiceFake({ world, apiKey: API_KEY });
  const hosts = [...new Set(groups.map((g) => g.host))];
  const swarming = await Promise.all(hosts.map((host) => startSwarmingFake({ world, host })));
  const secrets = new SecretResolver({ env: {} });
  try {
    if (latencyMs > 0) {
      macService.inject('*', { kind: 'delay', ms: latencyMs });
      swarming.forEach((fake) => fake.inject({ kind: 'delay', ms: latencyMs }));
    }
    const config = parseConfig(
      {
        macService: { url: macService.url, apiKey: API_KEY, customer: 'golang' },
        swarming: hosts.map((host, i) => ({
          host,
          url: swarming[i]!.url,
          pool: POOLS[host],
          groups: groups.filter((g) => g.host === host).map((g) => ({ hostname: g.hostname, image: g.image, count: g.count, cert: CERT, key: KEY })),
        })),
        policy: { concurrency },
      },
      'bench config',
    );
    const calls = new CallCounter();
    // Log entries are built (that is part of a pass) but not kept or written.
    const logger: Logger = { write: () => undefined };
    const started = performance.now();
    const result: PassResult = await runPass({
      config,
      clients: buildClients(config, { calls, secrets }),
      secrets,
      logger,
      calls,
      planner,
    });
    const wallMs = performance.now() - started;
    const byKind: Record<string, number> = {};
    for (const o of result.outcomes) byKind[o.action.kind] = (byKind[o.action.kind] ?? 0) + 1;
    return {
      wallMs,
      calls: result.summary.apiCalls,
      totalCalls: Object.values(result.summary.apiCalls).reduce((a, b) => a + b, 0),
      actions: result.outcomes.length,
      byKind,
      failed: result.outcomes.filter((o) => o.outcome !== 'ok').length,
    };
  } finally {
    await secrets.close();
    await Promise.all([macService.close(), ...swarming.map((fake) => fake.close())]);
  }
}

/** Samples the process's memory while `work` runs. */
async function withMemoryPeak<T>(work: () => Promise<T>): Promise<{ value: T; rss: number; heap: number }> {
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const sample = () => {
    const usage = process.memoryUsage();
    rss = Math.max(rss, usage.rss);
    heap = Math.max(heap, usage.heapUsed);
  };
  const timer = setInterval(sample, 10);
  try {
    const value = await work();
    sample();
    return { value, rss, heap };
  } finally {
    clearInterval(timer);
  }
}

export async function benchCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('bench', USAGE, args, { sizes: { type: 'string', default: '100,1000,10000' }, 'latency-ms': { type: 'string', default: '5' } }, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.values;
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n > 20_000)) {
    return usageError('bench', `--sizes must be whole numbers from 10 to 20000, not ${JSON.stringify(values.sizes)}`, USAGE, io).exitCode;
  }
  const latencyMs = Number(values['latency-ms']);
  if (!/^\d+$/.test(values['latency-ms']) || latencyMs > 100) {
    return usageError('bench', `--latency-ms must be a whole number from 0 to 100, not ${JSON.stringify(values['latency-ms'])}`, USAGE, io).exitCode;
  }
  useOfflineGoogleDefaults();

  const out = (line = '') => io.stdout.write(`${line}\n`);
  const began = performance.now();
  out(`makemac bench: one full pass per cell against the loopback fakes, ${latencyMs} ms added to every API call.`);
  out(
    `Action pass: ${pct(ACTION_SHARES.dead)} dead, ${pct(ACTION_SHARES.missing)} missing, ${pct(ACTION_SHARES.quarantined)} quarantined, ` +
      `${pct(ACTION_SHARES.deficit)} deficit (creates capped at 20 per pass), ${pct(ACTION_SHARES.busy)} busy, expiries spread over the renewal hour.`,
  );
  out('Steady pass: all healthy, only renewals due. Go makemac renews every lease every pass.');
  out();

  const rows: string[][] = [];
  let failures = 0;
  // Cells take time roughly in proportion to leases, the serial one (c=1) about three times more.
  const CELLS = [
    { label: 'action pass c=8', weight: 1 },
    { label: 'action pass c=1', weight: 3 },
    { label: 'steady pass', weight: 1 },
    { label: 'go-makemac pass', weight: 1 },
  ];
  const perSize = CELLS.reduce((sum, cell) => sum + cell.weight, 0);
  const totalWork = sizes.reduce((sum, size) => sum + size * perSize, 0);
  const progress = progressLine(io, { command: 'makemac bench', enabled: true });
  let workDone = 0;
  const cellCount = sizes.length * CELLS.length;
  let cellIndex = 0;
  const cell = async <T>(size: number, index: number, work: () => Promise<T>): Promise<T> => {
    cellIndex += 1;
    progress.update(workDone / totalWork, `${size.toLocaleString('en-US')} leases · ${CELLS[index]!.label} · cell ${cellIndex} of ${cellCount}`);
    const value = await work();
    workDone += size * CELLS[index]!.weight;
    return value;
  };
  for (const size of sizes) {
    const measured = await withMemoryPeak(async () => {
      const fast = await cell(size, 0, () => measurePass(size, false, 8, latencyMs));
      const slow = await cell(size, 1, () => measurePass(size, false, 1, latencyMs));
      const steady = await cell(size, 2, () => measurePass(size, true, 8, latencyMs));
      const legacy = await cell(size, 3, () => measurePass(size, true, 8, latencyMs, makemacPlan));
      return { fast, slow, steady, legacy };
    });
    const { fast, slow, steady, legacy } = measured.value;
    failures += fast.failed + slow.failed + steady.failed + legacy.failed;
    rows.push([
      size.toLocaleString('en-US'),
      `${fast.actions} (${fast.byKind.vacate ?? 0}v ${fast.byKind.create ?? 0}c ${fast.byKind.renew ?? 0}r)`,
      seconds(fast.wallMs),
      seconds(slow.wallMs),
      `${(slow.wallMs / fast.wallMs).toFixed(1)}×`,
      String(steady.totalCalls),
      String(legacy.totalCalls),
      `${(legacy.totalCalls / steady.totalCalls).toFixed(1)}×`,
      seconds(steady.wallMs),
      seconds(legacy.wallMs),
      mb(measured.rss),
      mb(measured.heap),
    ]);
  }
  progress.finish();
  const header = [
    'leases',
    'actions (vacate/create/renew)',
    'pass c=8',
    'pass c=1',
    'c=1÷c=8',
    'steady calls',
    'go-makemac calls',
    'ratio',
    'steady pass',
    'go-makemac pass',
    'peak RSS',
    'peak heap',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out(line(header));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((r) => out(line(r)));
  out();
  out('pass c=N: wall time of the action pass at concurrency N. steady/go-makemac calls: API calls in one steady-state pass');
  out('(find + ListBots pages + renewals) by makemac and by the Go makemac policy (go-makemac). Memory is the whole process, fakes and');
  out(`world included, sampled every 10 ms. Total bench time ${seconds(performance.now() - began)}.`);
  if (failures > 0) {
    io.stderr.write(`makemac bench: ${failures} action(s) did not succeed\n`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

const pct = (share: number) => `${+(share * 100).toFixed(1)}%`;
const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
