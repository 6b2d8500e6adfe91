// `makemac reconcile`: one pass against the APIs the config names.
import { writeFileSync } from 'node:fs';
import { buildClients } from '../shared/clients';
import { decisionRecord } from '../shared/decision-record';
import { CallCounter } from '../shared/http';
import { JsonLogger, TextLogger, type Logger } from '../shared/log';
import { isDryRun, newPassId, runPass } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { loadCommandConfig } from './cli-config';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo } from './cli-io';
import { parseCommandArgs, usageError } from './command-args';
import { unwritable } from './files';

export const RECONCILE_USAGE = `usage: makemac reconcile [--config FILE] [--dry-run] [--plan-out FILE] [--log-format json|text]
  Run one reconcile pass. Config from --config, $MAKEMAC_CONFIG_FILE or $MAKEMAC_CONFIG.
  --dry-run     plan and log every action, change nothing
  --plan-out    write the decision record (observation, verdicts, actions, outcomes) to FILE
  --log-format  json (the default when stdout is not a terminal) or text`;

export async function reconcileCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    'reconcile',
    RECONCILE_USAGE,
    args,
    {
      config: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'plan-out': { type: 'string' },
      'log-format': { type: 'string' },
    },
    io,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const flags = parsed.values;
  const format = flags['log-format'] ?? (io.stdout.isTTY ? 'text' : 'json');
  if (format !== 'json' && format !== 'text') {
    return usageError('reconcile', `--log-format must be json or text, not ${JSON.stringify(format)}`, RECONCILE_USAGE, io).exitCode;
  }

  const loaded = loadCommandConfig(flags.config, io);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { config } = loaded;
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
  // SIGTERM or SIGINT ends the pass early but properly: summary, decision record, exit 1.
  // The first one takes both listeners away, so a second one of either kind finds none and
  // kills the process, as the operator asked twice.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    interrupt.abort(signal);
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  try {
    const result = await runPass({
      config,
      clients: buildClients(config, { calls, secrets }),
      secrets,
      logger,
      calls,
      passId,
      forceDryRun: flags['dry-run'],
      interrupt: interrupt.signal,
    });
    if (flags['plan-out'] !== undefined) {
      writeFileSync(flags['plan-out'], `${JSON.stringify(decisionRecord(result), null, 2)}\n`);
    }
    return result.summary.outcome === 'ok' ? EXIT_OK : EXIT_FAILED;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
    await secrets.close();
  }
}
