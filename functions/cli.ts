// The `makemac` command line: argv → one command → exit code.
//   0  the command did what it says (a pass completed and every action succeeded)
//   1  it ran and found trouble (a failed observation or action, a fleet not at count)
//   2  bad config or usage (no API call is made)
// Each command lives in its own module, loaded only when it runs: `makemac --help` should not
// pay for the simulator, nor a pass for the Google libraries it does not use.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultIo, EXIT_OK, EXIT_USAGE, type CliIo } from './cli-io';

const USAGE = `usage: makemac COMMAND [FLAGS]   (makemac COMMAND --help for its flags)
  reconcile [--config FILE] [--dry-run] [--plan-out FILE] [--log-format json|text]
      Run one reconcile pass. Config from --config, $MAKEMAC_CONFIG_FILE or $MAKEMAC_CONFIG.
  status [--config FILE] [--json] [--leases] [--html FILE]
      Show the fleet as the planner sees it and what the next pass would do; changes nothing.
  check [--config FILE] [--resolve]
      Validate a config; with --resolve also read every secret it names.
  fakes [--fleet demo|FILE] [--port N]
      Serve fake MacService and Swarming servers with a simulated fleet, to try reconcile and status on.
  demo
      Run passes against the built-in simulated fleet (what \`npm start\` does).
  simulate --scenario NAME|all [--days N] [--seed S] [--policy default|go-makemac|both] [--json] [--report FILE.html]
      Simulate days of a fleet on a virtual clock and report availability and cost.
  bench [--sizes 100,1000,10000] [--latency-ms 5] [--concurrency 8] [--action-fraction 0.11] [--out-of-process [--real-size-metadata]]
      Measure pass time, API calls and memory for fleets of 100 to 50,000 leases.
  --version
      Print makemac's version.`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  reconcile: async () => (await import('./reconcile-command.js')).reconcileCommand,
  status: async () => (await import('./status-command.js')).statusCommand,
  check: async () => (await import('./check-command.js')).checkCommand,
  fakes: async () => (await import('./fakes-command.js')).fakesCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  simulate: async () => (await import('./simulate.js')).simulateCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
};

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) return (await COMMANDS[command]!())(rest, io);
  switch (command) {
    case undefined:
      io.stderr.write(`makemac: which command?\n${USAGE}\n`);
      return EXIT_USAGE;
    case 'help':
    case '--help':
    case '-h':
      if (rest.length > 0) return unexpected(rest, io);
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    case 'version':
    case '--version':
    case '-v':
      if (rest.length > 0) return unexpected(rest, io);
      io.stdout.write(`makemac ${version()}\n`);
      return EXIT_OK;
    default:
      io.stderr.write(`makemac: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return EXIT_USAGE;
  }
}

function unexpected(args: string[], io: CliIo): number {
  io.stderr.write(`makemac: unexpected argument ${JSON.stringify(args[0])}\n${USAGE}\n`);
  return EXIT_USAGE;
}

/**
 * package.json sits one directory up beside the sources and in the function's archive, three up
 * in the build `npm ci` makes (build/dist/functions/).
 */
export function version(): string {
  const candidates = [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', '..', 'package.json')];
  const file = candidates.find((path) => existsSync(path)) ?? candidates[0]!;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
