// Bad input to the config loader ends in a ConfigError or a valid config, never a crash,
// and no error ever quotes a string from the document.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseConfigText } from '../shared/config/load';

const MARK = 'ZZSECRETZZ';
const IMAGE = 'c'.repeat(64);

const valid = () => ({
  macService: { apiKey: 'secret:k', customer: 'golang' },
  swarming: [{ host: 'chromium-swarm.appspot.com', pool: 'p', groups: [{ hostname: 'darwin-amd64-14', image: IMAGE, count: 2, cert: 'env:CERT', key: 'env:KEY' }] }],
});

/** Every path to a value in the valid document, to replace with junk. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value).flatMap(([key, child]) => [prefix.concat(Array.isArray(value) ? Number(key) : key), ...paths(child, prefix.concat(Array.isArray(value) ? Number(key) : key))]);
}

function setAt(doc: any, path: (string | number)[], junk: unknown): void {
  let node = doc;
  for (const part of path.slice(0, -1)) node = node[part];
  node[path[path.length - 1]!] = junk;
}

const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.boolean(),
  fc.string().map((s) => `${MARK}${s}`),
  fc.constant(`secret:${MARK}/x/y`),
  fc.constant(`http://${MARK}.example.com/`),
  fc.constant(MARK.repeat(100_000)),
  fc.array(fc.constant(MARK), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.constant(MARK), { maxKeys: 3 }),
);

function expectSafeOutcome(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain(MARK);
  }
}

describe('config loader under bad input', () => {
  it('replacing any field with junk gives a clean error or a valid config', () => {
    const all = paths(valid());
    fc.assert(
      fc.property(fc.constantFrom(...all), junk, (path, value) => {
        const doc = valid();
        setAt(doc, path, value);
        expectSafeOutcome(() => parseConfig(doc));
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary and truncated JSON text never crashes the loader', () => {
    const text = JSON.stringify(valid()).replace('"golang"', `"${MARK}"`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.nat({ max: text.length }).map((n) => text.slice(0, n)), fc.json()), (input) => {
        expectSafeOutcome(() => parseConfigText(input, 'MAKEMAC_CONFIG'));
      }),
      { numRuns: 400 },
    );
  });

  it('extra keys at any depth are refused', () => {
    const objects = paths(valid()).filter((path) => {
      let node: any = valid();
      for (const part of path) node = node[part];
      return node !== null && typeof node === 'object' && !Array.isArray(node);
    });
    fc.assert(
      fc.property(fc.constantFrom([], ...objects), fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['macService', 'swarming', 'policy', 'dryRun', 'url', 'apiKey', 'customer', 'profile', 'accessLevel', 'host', 'pool', 'groups', 'hostname', 'image', 'count', 'cert', 'key', '__proto__'].includes(k)), (path, key) => {
        const doc: any = valid();
        let node = doc;
        for (const part of path) node = node[part];
        node[key] = 1;
        expect(() => parseConfig(doc)).toThrow(ConfigError);
      }),
      { numRuns: 200 },
    );
  });
});
