// Argument parsing shared by every command: unknown flags and stray words are usage errors
// (exit 2, with the command's usage), and `--help` prints the usage and exits 0.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { EXIT_OK, EXIT_USAGE, type CliIo } from './cli-io';

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true; allowPositionals: false }>
>['values'];

/** The parsed flags, or the exit code when the command must stop here (usage error or `--help`). */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(
  command: string,
  usage: string,
  args: string[],
  options: O,
  io: CliIo,
): { values: Values<O> } | { exitCode: number } {
  let values: Values<O>;
  try {
    values = parseArgs({ args, options: { ...options, ...HELP }, strict: true, allowPositionals: false }).values as Values<O>;
  } catch (err) {
    // A help request wins over the other arguments' mistakes.
    if (args.includes('--help') || args.includes('-h')) return help(usage, io);
    return usageError(command, (err as Error).message, usage, io);
  }
  if ((values as { help?: boolean }).help) return help(usage, io);
  return { values };
}

export function usageError(command: string, message: string, usage: string, io: CliIo): { exitCode: number } {
  io.stderr.write(`makemac ${command}: ${message}\n${usage}\n`);
  return { exitCode: EXIT_USAGE };
}

function help(usage: string, io: CliIo): { exitCode: number } {
  io.stdout.write(`${usage}\n`);
  return { exitCode: EXIT_OK };
}
