// Finds, parses and validates the config. Errors name the path of the offending field and
// never print its value: a literal secret may sit in any string.
import { z } from 'zod';
import { ConfigFileError } from './config-file';
import { firstDuplicateKey } from './duplicate-key';
import { configSchema, type Config } from './schema';
import { secretFields } from './secret-fields';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSource {
  /** `--config FILE` from the command line, if given. */
  configFile?: string;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
}

export function loadConfig(source: ConfigSource): Config {
  const file = source.configFile ?? source.env.MAKEMAC_CONFIG_FILE;
  let text: string;
  let origin: string;
  if (file !== undefined && file !== '') {
    origin = file;
    try {
      text = source.readFile(file);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new ConfigError(`config file ${file} ${err.message}`);
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`cannot read config file ${file}${code ? ` (${code})` : ''}`);
    }
  } else if (source.env.MAKEMAC_CONFIG !== undefined && source.env.MAKEMAC_CONFIG !== '') {
    origin = 'MAKEMAC_CONFIG';
    text = source.env.MAKEMAC_CONFIG;
  } else {
    throw new ConfigError('no config: pass --config FILE, or set MAKEMAC_CONFIG_FILE or MAKEMAC_CONFIG');
  }
  const config = parseConfigText(text, origin);
  checkEnvReferences(config, source.env, origin);
  return config;
}

/**
 * `env:` references are checked now, with the config, so a missing variable is a config error
 * (exit 2, before any API call) rather than a failed create hours later. `secret:` references
 * are not: reading them is an API call, made only when the value is needed.
 */
function checkEnvReferences(config: Config, env: ConfigSource['env'], origin: string): void {
  const missing = secretFields(config)
    .filter(({ ref }) => ref.startsWith('env:') && !env[ref.slice('env:'.length)])
    .map(({ path, ref }) => `${path}: environment variable ${ref.slice('env:'.length)} is not set`);
  if (missing.length > 0) throw new ConfigError(`${origin}: ${missing.join('; ')}`);
}

export function parseConfigText(text: string, origin: string): Config {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    // V8's message quotes a few characters of the input, which could be part of a secret.
    const position = /position (\d+)/.exec(String((err as Error).message))?.[1];
    throw new ConfigError(`${origin}: invalid JSON${position ? ` at position ${position}` : ''}`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== null) {
    throw new ConfigError(`${origin}: ${formatPath(duplicate.path)}: duplicate key ${JSON.stringify(duplicate.key)} (JSON would keep only the last)`);
  }
  return parseConfig(document, origin);
}

export function parseConfig(document: unknown, origin = 'config'): Config {
  const result = configSchema.safeParse(document);
  if (result.success) return result.data;
  throw new ConfigError(`${origin}: ${describeIssues(result.error.issues)}`);
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${formatPath(issue.path)}: ${describeIssue(issue)}`).join('; ');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_type':
      // zod words a missing key as "expected X, received undefined".
      return issue.message.endsWith('received undefined') ? `required (${issue.expected})` : issue.message;
    default:
      return issue.message;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('');
}
