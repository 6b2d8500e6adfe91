// `npm run bench`: full passes (runPass with the real clients) against the loopback fakes for
// fleets of 100, 1,000 and 10,000 leases, every API call answered a fixed latency after it
// arrives. Measures wall time at concurrency 8 against 1, API calls per steady-state pass
// against Go makemac's policy (which renews every lease every pass), and the process's peak
// memory.
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import type { Logger } from '../shared/log';
import { runPass, type PassOptions, type PassResult } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { actionShares, buildBenchWorld, startBenchFakes } from '../shared/sim/bench-fleet';
import { makemacPlan } from '../shared/sim/makemac-policy';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';
import { benchOutOfProcess } from './bench-process';
import { benchTable, pct } from './bench-table';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { progressLine } from './progress';

const USAGE = `usage: makemac bench [--sizes 100,1000,10000] [--latency-ms 5] [--concurrency 8] [--action-fraction 0.11]
                     [--out-of-process [--real-size-metadata]]
  --sizes               fleet sizes in leases, comma-separated (each 10 to 50000)
  --latency-ms          every MacService and Swarming call is answered this long after it arrives (0 to 1000, default 5)
  --concurrency         the reconciler's policy.concurrency (1 to 64, default 8)
  --action-fraction     share of leases needing action in a pass, mostly renewals (0 to 0.5, default 0.11)
  --out-of-process      run the fakes in a child process and each pass as \`makemac reconcile\` in
                        another, as a user does: the reconciler's own time and peak memory, next to
                        the time the API calls alone take
  --real-size-metadata  give every lease a bot cert and key of real size (find grows to ~3.5 KB a lease)`;

interface PassMeasure {
  wallMs: number;
  calls: Record<string, number>;
  totalCalls: number;
  actions: number;
  byKind: Record<string, number>;
  failed: number;
}

interface InProcessCell {
  size: number;
  steady: boolean;
  concurrency: number;
  latencyMs: number;
  actionFraction: number;
  planner?: PassOptions['planner'];
}

/** One full pass over a fresh copy of the fleet, against fakes that delay every call. */
async function measurePass(cell: InProcessCell): Promise<PassMeasure> {
  const { world, groups } = buildBenchWorld({ size: cell.size, steady: cell.steady, actionFraction: cell.actionFraction, realSizeMetadata: false });
  const fakes = await startBenchFakes(world, groups, cell.latencyMs, false);
  const secrets = new SecretResolver({ env: {} });
  const planner = cell.planner;
  try {
    const config = parseConfig(fakes.configDocument(cell.concurrency), 'bench config');
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
    await fakes.close();
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

export interface BenchOptions {
  sizes: number[];
  latencyMs: number;
  concurrency: number;
  actionFraction: number;
  realSizeMetadata: boolean;
}

const FLAGS = {
  sizes: { type: 'string', default: '100,1000,10000' },
  'latency-ms': { type: 'string', default: '5' },
  concurrency: { type: 'string', default: '8' },
  'action-fraction': { type: 'string', default: '0.11' },
  'out-of-process': { type: 'boolean', default: false },
  'real-size-metadata': { type: 'boolean', default: false },
} as const;

/** The options, or what is wrong with the flags. */
function benchOptions(values: {
  sizes: string;
  'latency-ms': string;
  concurrency: string;
  'action-fraction': string;
  'out-of-process': boolean;
  'real-size-metadata': boolean;
}): BenchOptions | (BenchOptions & { outOfProcess: true }) | { error: string } {
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n > 50_000)) {
    return { error: `--sizes must be whole numbers from 10 to 50000, not ${JSON.stringify(values.sizes)}` };
  }
  const whole = (name: string, text: string, max: number, min = 0) =>
    /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? Number(text) : `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`;
  const latencyMs = whole('--latency-ms', values['latency-ms'], 1000);
  if (typeof latencyMs === 'string') return { error: latencyMs };
  const concurrency = whole('--concurrency', values.concurrency, 64, 1);
  if (typeof concurrency === 'string') return { error: concurrency };
  const actionFraction = Number(values['action-fraction']);
  if (!/^\d*\.?\d+$/.test(values['action-fraction']) || actionFraction > 0.5) {
    return { error: `--action-fraction must be a number from 0 to 0.5, not ${JSON.stringify(values['action-fraction'])}` };
  }
  if (values['real-size-metadata'] && !values['out-of-process']) return { error: '--real-size-metadata needs --out-of-process' };
  const options = { sizes, latencyMs, concurrency, actionFraction, realSizeMetadata: values['real-size-metadata'] };
  return values['out-of-process'] ? { ...options, outOfProcess: true as const } : options;
}

export async function benchCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('bench', USAGE, args, FLAGS, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const options = benchOptions(parsed.values);
  if ('error' in options) return usageError('bench', options.error, USAGE, io).exitCode;
  useOfflineGoogleDefaults();
  if ('outOfProcess' in options) return benchOutOfProcess(options, io);
  const { sizes, latencyMs, concurrency, actionFraction } = options;
  const shares = actionShares(actionFraction);

  const out = (line = '') => io.stdout.write(`${line}\n`);
  const began = performance.now();
  out(`makemac bench: one full pass per cell against the loopback fakes, every API call answered ${latencyMs} ms after it arrives.`);
  out(
    `Action pass: ${pct(actionFraction)} of leases need action: ${pct(shares.dead)} dead, ${pct(shares.missing)} missing, ${pct(shares.quarantined)} quarantined, ` +
      `${pct(shares.deficit)} short (creates capped at 20 per pass), ${pct(shares.renew)} renewals due; 40% of healthy bots busy.`,
  );
  out(`Steady pass: all healthy, only the ${pct(shares.renew)} renewals due. Go makemac renews every lease every pass.`);
  out();

  const rows: string[][] = [];
  let failures = 0;
  // Cells take time roughly in proportion to leases, the serial one (c=1) about three times more.
  const CELLS = [
    { label: `action pass c=${concurrency}`, weight: 1 },
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
      const base = { size, latencyMs, actionFraction, concurrency, steady: false };
      const fast = await cell(size, 0, () => measurePass(base));
      const slow = await cell(size, 1, () => measurePass({ ...base, concurrency: 1 }));
      const steady = await cell(size, 2, () => measurePass({ ...base, steady: true }));
      const legacy = await cell(size, 3, () => measurePass({ ...base, steady: true, planner: makemacPlan }));
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
    `pass c=${concurrency}`,
    'pass c=1',
    `c=1÷c=${concurrency}`,
    'steady calls',
    'go-makemac calls',
    'ratio',
    'steady pass',
    'go-makemac pass',
    'peak RSS',
    'peak heap',
  ];
  out(benchTable(header, rows));
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

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
