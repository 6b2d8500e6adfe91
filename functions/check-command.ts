// `makemac check`: is this config one a pass would accept? With --resolve, can every secret
// it names be read from here? Values are read and dropped, never printed.
import type { Config } from '../shared/config/schema';
import { printableRef, secretFields } from '../shared/config/secret-fields';
import { SecretResolver } from '../shared/secrets';
import { loadCommandConfig } from './cli-config';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './cli-io';
import { parseCommandArgs } from './command-args';

const USAGE = `usage: makemac check [--config FILE] [--resolve]
  Validate a config (from --config, $MAKEMAC_CONFIG_FILE or $MAKEMAC_CONFIG) and summarise it.
  --resolve  also read every secret it names (the API key, each group's cert and key) through
             Secret Manager or the environment, as a pass would; values are never printed
  exit 0: valid (and, with --resolve, every secret read); 1: valid, but a secret could not be
  read; 2: bad config or usage, naming the field`;

export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('check', USAGE, args, { config: { type: 'string' }, resolve: { type: 'boolean', default: false } }, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const loaded = loadCommandConfig(parsed.values.config, io);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config, origin } = loaded;
  for (const line of summary(config, origin)) io.stdout.write(`${line}\n`);
  if (!parsed.values.resolve) return EXIT_OK;

  const failures = await unreadableSecrets(config, io.env);
  const fields = secretFields(config);
  const references = new Set(fields.map((f) => f.ref).filter((ref) => printableRef(ref) === ref)).size;
  if (failures.length === 0) {
    io.stdout.write(`secrets: ${fields.length} fields, ${references} distinct references, all read (values not shown).\n`);
    return EXIT_OK;
  }
  for (const failure of failures) io.stderr.write(`makemac check: cannot read ${failure}\n`);
  return EXIT_FAILED;
}

function summary(config: Config, origin: string): string[] {
  const groups = config.swarming.flatMap((server) => server.groups);
  const wanted = groups.reduce((sum, group) => sum + group.count, 0);
  return [
    `config OK (${origin}): ${plural(config.swarming.length, 'swarming host')}, ${plural(groups.length, 'group')}, ` +
      `${plural(wanted, 'lease')} wanted; customer ${config.macService.customer}; dry run ${config.dryRun ? 'on' : 'off'}.`,
    ...config.swarming.map(
      (server) => `  ${server.host} (pool ${server.pool}): ${server.groups.map((group) => `${group.hostname} ×${group.count}`).join(', ')}`,
    ),
  ];
}

/** One line per field whose secret cannot be read: its path and the reason (which names the reference). */
async function unreadableSecrets(config: Config, env: CliIo['env']): Promise<string[]> {
  const secrets = new SecretResolver({ env });
  try {
    const fields = secretFields(config);
    // The resolver asks once per reference, however many fields share it.
    const results = await Promise.allSettled(fields.map((field) => secrets.resolve(field.ref)));
    return results.flatMap((result, i) =>
      result.status === 'fulfilled' ? [] : [`${fields[i]!.path}: ${secrets.redact((result.reason as Error).message)}`],
    );
  } finally {
    await secrets.close();
  }
}

const plural = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
