// `makemac status`: one read-only observation, the real planner run on it, and the fleet as
// the planner sees it. Nothing is mutated; the only secret read is the API key (to list leases).
import { writeFileSync } from 'node:fs';
import { buildClients } from '../shared/clients';
import type { Config } from '../shared/config/schema';
import { fleetStatus } from '../shared/fleet-status';
import { CallCounter } from '../shared/http';
import { observe, ObservationError, type Observation } from '../shared/observe';
import { deadlinedReads, type PassClients } from '../shared/pass';
import { plan } from '../shared/plan/plan';
import { SecretResolver } from '../shared/secrets';
import { loadCommandConfig } from './cli-config';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { unwritable } from './files';
import { statusHtml } from './status-html';
import { statusText } from './status-text';

const USAGE = `usage: makemac status [--config FILE] [--json] [--leases] [--html FILE]
  Observe the fleet once (no change is made) and show it as the planner sees it: per swarming
  host and group the count wanted, healthy (idle/busy), booting, missing, dead, quarantined, in
  maintenance, unknown and outdated leases, the soonest expiry, and what the next pass would do.
  --config  config file (else $MAKEMAC_CONFIG_FILE or $MAKEMAC_CONFIG)
  --leases  add a line per lease: id, bot, verdict and why, image, age, expiry, next action
  --json    print the status as one JSON document (format in README, "makemac status")
  --html    also write a self-contained HTML page with the same tables and a bar per group
  exit 0: every group at count and healthy; 1: not, or the fleet could not be observed; 2: bad config or usage`;

export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    'status',
    USAGE,
    args,
    { config: { type: 'string' }, json: { type: 'boolean', default: false }, leases: { type: 'boolean', default: false }, html: { type: 'string' } },
    io,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const flags = parsed.values;
  if (flags.html !== undefined) {
    const problem = flags.html.trim() === '' ? 'needs a file name' : unwritable(flags.html);
    if (problem !== null) return usageError('status', `--html: ${problem}`, USAGE, io).exitCode;
  }
  const loaded = loadCommandConfig(flags.config, io);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config } = loaded;

  const secrets = new SecretResolver({ env: io.env });
  let observation: Observation;
  try {
    observation = await observeOnce(config, buildClients(config, { calls: new CallCounter(), secrets }));
  } catch (err) {
    if (!(err instanceof ObservationError)) throw err;
    io.stderr.write(`makemac status: cannot observe the fleet: ${secrets.redact(err.message)}\n`);
    return EXIT_FAILED;
  } finally {
    await secrets.close();
  }
  const now = Date.now();
  const status = fleetStatus(config, observation, plan(config, observation, now), now, { leases: flags.leases });
  io.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
  if (flags.html !== undefined) {
    writeFileSync(flags.html, statusHtml(status));
    if (!flags.json) io.stdout.write(`HTML page written to ${flags.html}\n`);
  }
  return status.ok ? EXIT_OK : EXIT_FAILED;
}

/** The pass's observation, with the same retries and read deadlines, and nothing after it. */
async function observeOnce(config: Config, clients: PassClients): Promise<Observation> {
  const reads = deadlinedReads(config, clients, { startedAt: Date.now(), now: Date.now });
  try {
    return await observe(config, reads.sources, Date.now);
  } finally {
    reads.release();
  }
}
