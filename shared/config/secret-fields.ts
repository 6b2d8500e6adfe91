// Every field of a config that holds a secret or a reference to one, with its path.
import type { Config } from './schema';

export interface SecretField {
  /** Where it sits in the config, as errors name it: `swarming[0].groups[1].key`. */
  path: string;
  /** `secret:…`, `env:…` or a literal value. */
  ref: string;
}

export function secretFields(config: Config): SecretField[] {
  const fields: SecretField[] = [{ path: 'macService.apiKey', ref: config.macService.apiKey }];
  config.swarming.forEach((server, i) =>
    server.groups.forEach((group, j) => {
      fields.push({ path: `swarming[${i}].groups[${j}].cert`, ref: group.cert }, { path: `swarming[${i}].groups[${j}].key`, ref: group.key });
    }),
  );
  return fields;
}

/** A reference as it may be printed: the reference itself, never a literal (it is the secret). */
export function printableRef(ref: string): string {
  return ref.startsWith('secret:') || ref.startsWith('env:') ? ref : '(literal value)';
}
