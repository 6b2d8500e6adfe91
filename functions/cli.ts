// The `makemac` command line: argv → one action → exit code.
//   0  the pass completed and every action succeeded
//   1  observation failed, a host was blind, the brake engaged or an action failed
//   2  bad config or usage (no API call is made)
import { readFileSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { buildClients } from '../shared/clients';
import { ConfigError, loadConfig } from '../shared/config/load';
import { decisionRecord } from '../shared/decision-record';
import { CallCounter } from '../shared/http';
import { JsonLogger, TextLogger, type Logger } from '../shared/log';
import { isDryRun, newPassId, runPass } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { benchCommand } from './bench';
import { runDemo } from './demo';
import { unwritable } from './files';
import { simulateCommand } from './simulate';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USAGE = `usage:
  makemac reconcile [--config FILE] [--dry-run] [--plan-out FILE] [--log-format json|text]
      Run one reconcile pass. Config from --config, $MAKEMAC_CONFIG_FILE or $MAKEMAC_CONFIG.
  makemac demo
      Run passes against the built-in simulated fleet (what \`npm start\` does).
  makemac simulate --scenario NAME|all [--days N] [--seed S] [--policy default|makemac|both] [--json] [--report FILE.html]
      Simulate days of a fleet on a virtual clock and report availability and cost.
  makemac bench
      Measure pass time, API calls and memory for fleets of 100, 1,000 and 10,000 leases.`;

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: Record<string, string | undefined>;
}

const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'reconcile':
      return reconcile(rest, io);
    case 'demo':
      return runDemo(io);
    case 'simulate':
      return simulateCommand(rest, io);
    case 'bench':
      return benchCommand(rest, io);
    case undefined:
      io.stderr.write(`makemac: which command?\n${USAGE}\n`);
      return EXIT_USAGE;
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    default:
      io.stderr.write(`makemac: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return EXIT_USAGE;
  }
}

async function reconcile(args: string[], io: CliIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'plan-out': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    io.stderr.write(`makemac reconcile: ${(err as Error).message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (flags.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  const format = flags['log-format'] ?? (io.stdout.isTTY ? 'text' : 'json');
  if (format !== 'json' && format !== 'text') {
    io.stderr.write(`makemac reconcile: --log-format must be json or text, not ${JSON.stringify(format)}\n`);
    return EXIT_USAGE;
  }

  let config;
  try {
    config = loadConfig({ ...(flags.config !== undefined ? { configFile: flags.config } : {}), env: io.env, readFile: (path) => readFileSync(path, 'utf8') });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`makemac: bad config: ${err.message}\n`);
    return EXIT_USAGE;
  }
  // Checked now: finding out after the pass would mean its mutations are done and unrecorded.
  const planOutProblem = flags['plan-out'] === undefined ? null : unwritable(flags['plan-out']);
  if (planOutProblem !== null) {
    io.stderr.write(`makemac reconcile: --plan-out: ${planOutProblem}\n`);
    return EXIT_USAGE;
  }

  const passId = newPassId();
  const logger: Logger =
    format === 'json'
      ? new JsonLogger(io.stdout, { passId, dryRun: isDryRun(config, flags['dry-run']) })
      : new TextLogger(io.stdout);
  const secrets = new SecretResolver({ env: io.env });
  const calls = new CallCounter();
  try {
    const result = await runPass({
      config,
      clients: buildClients(config, { calls, secrets }),
      secrets,
      logger,
      calls,
      passId,
      forceDryRun: flags['dry-run'],
    });
    if (flags['plan-out'] !== undefined) {
      writeFileSync(flags['plan-out'], `${JSON.stringify(decisionRecord(result), null, 2)}\n`);
    }
    return result.summary.outcome === 'ok' ? EXIT_OK : EXIT_FAILED;
  } finally {
    await secrets.close();
  }
}
