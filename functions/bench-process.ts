// `makemac bench --out-of-process`: what a user runs, measured from outside. The fakes serve
// from a child process (bench-fakes.ts); each pass is `makemac reconcile` (the compiled bin) in
// a fresh process of its own, whose peak RSS is the reconciler's alone. Its in-pass time is set
// against the limit the API calls alone impose at the given latency:
//   latency × (1 find + the longest host's ListBots pages + ⌈actions ÷ concurrency⌉ per phase).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { MAX_PAGE_LIMIT } from '../shared/swarming/client';
import type { BenchOptions } from './bench';
import { benchTable, pct } from './bench-table';
import type { BenchFakesReady, BenchFakesRequest } from './bench-fakes';
import type { CliIo } from './cli-io';

/** Bots per ListBots page the Swarming client asks for (swarming/client.ts). */
const START_RUNS = 5;
const MIB = 1_048_576;

/** Runs `node -e <this> FILE ARGS…`: loads FILE as the main script, then reports its resource use on fd 3. */
const MEASURED = [
  "const fs = require('node:fs');",
  "process.on('exit', () => { try { fs.writeSync(3, JSON.stringify(process.resourceUsage())); } catch {} });",
  'if (process.argv[1]) require(process.argv[1]);',
].join('\n');

interface Run {
  code: number | null;
  wallMs: number;
  maxRssBytes: number;
  stdout: string;
}

/**
 * One process, as the bench measures it: wall time from spawn to exit, peak RSS from the kernel.
 * It inherits this environment, in which benchCommand turned off the Google credential lookups.
 */
function measuredRun(file: string | null, args: string[]): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', MEASURED, ...(file ? [file, ...args] : [])], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let usage = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.resume();
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8');
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: string) => (usage += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const maxRssBytes = usage === '' ? NaN : (JSON.parse(usage) as { maxRSS: number }).maxRSS * 1024;
      resolve({ code, wallMs, maxRssBytes, stdout });
    });
  });
}

/** The compiled bin and fakes: what `npm ci` built. The bench may itself run from the TypeScript sources (tests). */
function compiledDir(): string {
  const dir = __filename.endsWith('.js') ? __dirname : path.resolve(__dirname, '..', 'build', 'dist', 'functions');
  if (!existsSync(path.join(dir, 'makemac.js')) || !existsSync(path.join(dir, 'bench-fakes.js'))) {
    throw new Error(`no compiled makemac in ${dir}: run npm ci or npm run build`);
  }
  return dir;
}

async function startFakes(dir: string, request: BenchFakesRequest): Promise<{ ready: BenchFakesReady; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(dir, 'bench-fakes.js'), JSON.stringify(request)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fakes exited (${code}) before serving`)));
  });
  return {
    ready: JSON.parse(first) as BenchFakesReady,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

interface PassRow {
  size: number;
  actions: { vacate: number; create: number; renew: number };
  limitMs: number;
  passMs: number;
  run: Run;
  outcome: string;
}

const HEALTH_REASONS = new Set(['missing', 'dead', 'quarantined']);

/** One pass by a fresh `makemac reconcile` against fakes serving a fleet of `size` leases. */
async function measureSize(dir: string, size: number, options: BenchOptions, scratch: string): Promise<PassRow> {
  const fakes = await startFakes(dir, {
    size,
    actionFraction: options.actionFraction,
    steady: false,
    realSizeMetadata: options.realSizeMetadata,
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
  });
  try {
    const configFile = path.join(scratch, `config-${size}.json`);
    writeFileSync(configFile, JSON.stringify(fakes.ready.config));
    const run = await measuredRun(path.join(dir, 'makemac.js'), ['reconcile', '--config', configFile, '--log-format', 'json']);
    const entries = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = entries.find((e) => e.event === 'pass.summary');
    // Calls made, by phase: the executor runs phases one after another, each `concurrency` wide.
    const byPhase: Record<string, number> = {};
    const actions = { vacate: 0, create: 0, renew: 0 };
    for (const entry of entries) {
      if (typeof entry.event !== 'string' || !entry.event.startsWith('lease.') || entry.outcome === 'skipped') continue;
      const kind = entry.event.slice('lease.'.length) as keyof typeof actions;
      if (!(kind in actions)) continue;
      actions[kind] += 1;
      const phase = kind === 'vacate' ? (HEALTH_REASONS.has(String(entry.reason)) ? 'health' : 'replace') : kind;
      byPhase[phase] = (byPhase[phase] ?? 0) + 1;
    }
    const rounds = Object.values(byPhase).reduce((sum, n) => sum + Math.ceil(n / options.concurrency), 0);
    const pages = Math.max(...Object.values(fakes.ready.botsPerHost).map((bots) => Math.max(1, Math.ceil(bots / MAX_PAGE_LIMIT))));
    return {
      size,
      actions,
      limitMs: options.latencyMs * (1 + pages + rounds),
      passMs: typeof summary?.durationMs === 'number' ? summary.durationMs : NaN,
      run,
      outcome: typeof summary?.outcome === 'string' ? summary.outcome : `no summary (exit ${run.code})`,
    };
  } finally {
    await fakes.stop();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Start-up: `node -e 0`, `makemac --help` and a run that stops at a config error, medians of START_RUNS. */
async function measureStart(dir: string, scratch: string) {
  const badConfig = path.join(scratch, 'bad-config.json');
  writeFileSync(badConfig, '{"macService":{}}');
  const cases = [
    { name: 'node -e 0', file: null, args: [] },
    { name: 'makemac --help', file: path.join(dir, 'makemac.js'), args: ['--help'] },
    { name: 'makemac reconcile, config error', file: path.join(dir, 'makemac.js'), args: ['reconcile', '--config', badConfig] },
  ];
  const results = [];
  for (const c of cases) {
    const runs: Run[] = [];
    for (let i = 0; i < START_RUNS; i++) runs.push(await measuredRun(c.file, c.args));
    results.push({ name: c.name, wallMs: median(runs.map((r) => r.wallMs)), maxRssBytes: median(runs.map((r) => r.maxRssBytes)) });
  }
  return results;
}

export async function benchOutOfProcess(options: BenchOptions, io: CliIo): Promise<number> {
  const out = (line = '') => io.stdout.write(`${line}\n`);
  let dir: string;
  try {
    dir = compiledDir();
  } catch (err) {
    io.stderr.write(`makemac bench: ${(err as Error).message}\n`);
    return 1;
  }
  const scratch = mkdtempSync(path.join(tmpdir(), 'makemac-bench-'));
  try {
    out('makemac bench --out-of-process: each pass is `makemac reconcile` in a fresh process; the fakes run in another.');
    out(
      `every API call answered ${options.latencyMs} ms after it arrives, concurrency ${options.concurrency}, ${pct(options.actionFraction)} of leases need action, ` +
        `${options.realSizeMetadata ? 'bot cert and key of real size' : 'small placeholder cert and key'} in every lease's metadata.`,
    );
    out();
    const start = await measureStart(dir, scratch);
    const base = start[0]!;
    out(benchTable(['start', 'wall', '× node -e 0', 'peak RSS'], start.map((s) => [s.name, ms(s.wallMs), `${(s.wallMs / base.wallMs).toFixed(1)}×`, mib(s.maxRssBytes)])));
    out();

    const rows: PassRow[] = [];
    for (const size of options.sizes) rows.push(await measureSize(dir, size, options, scratch));
    out(
      benchTable(
        ['leases', 'actions (v/c/r)', 'limit', 'in-pass', 'pass ÷ limit', 'process', 'peak RSS', 'outcome'],
        rows.map((r) => [
          r.size.toLocaleString('en-US'),
          `${r.actions.vacate + r.actions.create + r.actions.renew} (${r.actions.vacate}v ${r.actions.create}c ${r.actions.renew}r)`,
          ms(r.limitMs),
          ms(r.passMs),
          r.limitMs > 0 ? `${(r.passMs / r.limitMs).toFixed(2)}×` : '—',
          ms(r.run.wallMs),
          mib(r.run.maxRssBytes),
          r.outcome,
        ]),
      ),
    );
    out();
    out('limit: the time the API calls alone take at this latency, one after another where the pass must wait for them:');
    out('1 find + the longest host\'s ListBots pages + ⌈actions ÷ concurrency⌉ per executor phase. in-pass: the pass summary\'s');
    out('durationMs. process: spawn to exit of `makemac reconcile`. peak RSS: that process\'s, from the kernel (the fakes are not in it).');
    return rows.every((r) => r.outcome === 'ok') ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const ms = (value: number) => (Number.isNaN(value) ? '—' : value < 10_000 ? `${(value / 1000).toFixed(2)} s` : `${(value / 1000).toFixed(1)} s`);
const mib = (bytes: number) => (Number.isNaN(bytes) ? '—' : `${Math.round(bytes / MIB)} MiB`);
