// `makemac fakes`: the fake MacService and Swarming servers of the demo and the simulator, on
// loopback, with a seeded fleet that moves in real time (VMs boot, bots take tasks, now and then
// one dies or quarantines itself), served until interrupted. For trying `reconcile`, `status`
// and the function by hand without a cloud account.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigFileError, readConfigFile } from '../shared/config/config-file';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../shared/config/schema';
import { ConfigError, parseConfig } from '../shared/config/load';
import { FleetModel, MINUTE_MS, QUIET_DYNAMICS, VirtualClock, type FleetDynamics } from '../shared/sim/fleet-model';
import { fleetFileConfig, parseFleetFile, seedFleetFile, type FleetFile } from '../shared/sim/fleet-file';
import { startMacServiceFake } from '../shared/sim/macservice-fake';
import { useOfflineGoogleDefaults } from '../shared/sim/offline';
import { POOLS, PUBLIC_HOST, SECURITY_HOST } from '../shared/sim/scenarios';
import { startSwarmingFake, type SwarmingFake } from '../shared/sim/swarming-fake';
import { World } from '../shared/sim/world';
import { EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { DEMO_API_KEY, demoConfigDocument, seedDemoFleet } from './demo';

const USAGE = `usage: makemac fakes [--fleet demo|FILE] [--port N]
  Serve fake MacService and Swarming servers on loopback with a simulated fleet that moves in
  real time, print a config pointing at them and commands to try, and serve until Ctrl-C.
  --fleet  demo (the default: the \`npm start\` fleet) or a JSON file describing hosts, groups
           and leases to seed (format in README, "Trying it by hand")
  --port   MacService listens on N, the Swarming hosts on N+1, N+2, …; any free ports by default`;

/** Quick enough to watch: VMs boot in about two minutes, and with a dozen bots something happens every few minutes. */
const FAKES_DYNAMICS: FleetDynamics = {
  ...QUIET_DYNAMICS,
  bootMedianMs: 2 * MINUTE_MS,
  bootSigma: 0.3,
  bootMinMs: MINUTE_MS,
  bootMaxMs: 5 * MINUTE_MS,
  bootFailureRate: 0.1,
  deathPerHour: 0.4,
  quarantinePerHour: 0.05,
  busyFraction: 0.4,
  taskMinMs: 3 * MINUTE_MS,
  taskMaxMs: 15 * MINUTE_MS,
};

/** How often the model catches up with the real clock. */
const TICK_MS = 1000;

export async function fakesCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('fakes', USAGE, args, { fleet: { type: 'string', default: 'demo' }, port: { type: 'string' } }, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { fleet: fleetArg, port: portArg } = parsed.values;
  const port = portArg === undefined ? 0 : Number(portArg);
  if (portArg !== undefined && (!/^\d+$/.test(portArg) || port < 1024 || port > 65_000)) {
    return usageError('fakes', `--port must be a whole number from 1024 to 65000, not ${JSON.stringify(portArg)}`, USAGE, io).exitCode;
  }
  let fleet: FleetFile | 'demo' = 'demo';
  if (fleetArg !== 'demo') {
    let text: string;
    try {
      // Read as a config is: a FIFO or /dev/zero is refused at once, not waited on or read forever.
      text = readConfigFile(fleetArg);
    } catch (err) {
      const why = err instanceof ConfigFileError ? err.message : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
      return usageError('fakes', `--fleet: ${fleetArg} ${why}`, USAGE, io).exitCode;
    }
    const file = parseFleetFile(text);
    if (typeof file === 'string') return usageError('fakes', `--fleet ${fleetArg}: ${file}`, USAGE, io).exitCode;
    fleet = file;
  }
  useOfflineGoogleDefaults();

  const clock = new VirtualClock(Date.now());
  const world = new World({ now: () => clock.now });
  const hosts = fleet === 'demo' ? [PUBLIC_HOST, SECURITY_HOST] : fleet.hosts.map((h) => h.host);
  const pools = fleet === 'demo' ? POOLS : Object.fromEntries(fleet.hosts.map((h) => [h.host, h.pool]));
  const model = new FleetModel({ world, clock, seed: Date.now() % 2 ** 32, dynamics: FAKES_DYNAMICS, pools });
  const macService = await startMacServiceFake({ world, apiKey: DEMO_API_KEY, newLeaseId: () => model.newLeaseId(), port });
  const swarming: SwarmingFake[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'makemac-fakes-'));
  try {
    for (const [i, host] of hosts.entries()) swarming.push(await startSwarmingFake({ world, host, port: port === 0 ? 0 : port + 1 + i }));
    model.attach(macService);
    const urls: Record<string, string> & { macService: string } = {
      macService: macService.url,
      ...Object.fromEntries(hosts.map((host, i) => [host, swarming[i]!.url])),
    };
    let document: ConfigInput;
    if (fleet === 'demo') {
      seedDemoFleet(model);
      document = demoConfigDocument(urls);
    } else {
      seedFleetFile(model, fleet);
      document = fleetFileConfig(fleet, urls, DEMO_API_KEY);
    }
    // Checked as any config is: a fleet file the product would refuse is caught here.
    try {
      parseConfig(document, 'the fleet file\'s config');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return usageError('fakes', `--fleet ${fleetArg}: ${err.message}`, USAGE, io).exitCode;
    }
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, `${JSON.stringify(document, null, 2)}\n`);
    io.stdout.write(introduction(fleet, urls, configFile, document));

    const tick = setInterval(() => {
      model.advanceTo(Date.now());
      // A long session would otherwise keep every request ever made.
      macService.requests.length = 0;
      for (const fake of swarming) fake.requests.length = 0;
    }, TICK_MS);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    clearInterval(tick);
    io.stdout.write(`\nmakemac fakes: ${signal}, stopping.\n`);
    return EXIT_OK;
  } finally {
    await Promise.all([macService.close(), ...swarming.map((fake) => fake.close())]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function introduction(fleet: FleetFile | 'demo', urls: Record<string, string>, configFile: string, document: ConfigInput): string {
  const groups = document.swarming.flatMap((server) => server.groups);
  const wanted = groups.reduce((sum, group) => sum + group.count, 0);
  const width = Math.max(...Object.keys(urls).map((name) => name.length));
  const lines = [
    `makemac fakes: fake MacService and Swarming on loopback, serving ${fleet === 'demo' ? 'the demo fleet' : 'the fleet file'} ` +
      `(${document.swarming.length} Swarming hosts, ${groups.length} groups, ${wanted} leases wanted).`,
    'The fleet moves in real time: new VMs boot in about 2 minutes (1 in 10 never does), bots take tasks, now and then one dies or quarantines itself.',
    '',
    ...Object.entries(urls).map(([name, url]) => `  ${(name === 'macService' ? 'MacService' : name).padEnd(width)}  ${url}`),
    '',
    `Config (written to ${configFile}):`,
    JSON.stringify(document, null, 2),
    '',
    'Try, from another terminal in this directory:',
    `  npx makemac status --config ${configFile}`,
    `  npx makemac reconcile --config ${configFile} --dry-run --log-format text`,
    `  npx makemac reconcile --config ${configFile} --log-format text`,
    `  curl -s -X POST -H 'Content-Type: application/json' -H 'x-goog-api-key: ${DEMO_API_KEY}' \\`,
    `    -d '{"vmResourceNamespace":{"customerName":"${document.macService.customer}"}}' ${urls.macService}leases:find`,
    '  The Cloud Function itself, on port 8080, then a dry-run pass through it:',
    `  MAKEMAC_CONFIG="$(cat ${configFile})" node node_modules/.bin/functions-framework --target=reconcile --source=build/dist/functions/reconcile.js`,
    `  curl -s -X POST -H 'Content-Type: application/json' -d '{"dryRun": true}' http://127.0.0.1:8080/`,
    '',
    'Serving until Ctrl-C.',
    '',
  ];
  return lines.join('\n');
}
