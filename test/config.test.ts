import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, parseConfigText } from '../shared/config/load';
import { sizeOf } from '../shared/config/schema';

const IMAGE_A = 'a'.repeat(64);
const IMAGE_B = 'b'.repeat(64);

function validDocument(): any {
  return {
    macService: { apiKey: 'secret:macservice-api-key', customer: 'golang' },
    swarming: [
      {
        host: 'chromium-swarm.appspot.com',
        pool: 'luci.golang.shared-workers',
        groups: [
          { hostname: 'darwin-amd64-14', image: IMAGE_A, count: 20, cert: 'secret:darwin-amd64-14-cert', key: 'secret:darwin-amd64-14-key' },
          { hostname: 'darwin-arm64-15', image: IMAGE_B, count: 7, cert: 'secret:p-roject/cert', key: 'env:ARM_KEY' },
        ],
      },
    ],
  };
}

function rejection(mutate: (doc: any) => void): string {
  const doc = validDocument();
  mutate(doc);
  try {
    parseConfig(doc, 'config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('accepts the contract example and fills in every default', () => {
    const config = parseConfig(validDocument());
    expect(config.macService.url).toBe('https://macservice-pa.googleapis.com/v1alpha1/');
    expect(config.macService.profile).toBe('V1_MEDIUM_VM');
    expect(config.macService.accessLevel).toBe('GOLANG_OSS');
    expect(config.swarming[0]!.url).toBe('https://chromium-swarm.appspot.com');
    expect(config.dryRun).toBe(false);
    expect(config.policy).toEqual({
      bootGrace: 60 * 60_000,
      deadAfter: 30 * 60_000,
      silentAfter: 3 * 60_000,
      renewBefore: 22 * 3_600_000,
      maxSurge: '25%',
      maxUnavailable: 0,
      maxCreatesPerPass: 20,
      maxVacatesPerPass: '25%',
      vacateCeiling: 200,
      brakeMinimum: 3,
      brakeFraction: 0.5,
      vacateQuarantined: true,
      concurrency: 8,
      passDeadline: 4 * 60_000,
      requestTimeout: 30_000,
      maxAttempts: 4,
    });
  });

  it('accepts the example in the README’s Configuration section', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const example = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseConfig(JSON.parse(example), 'README.md');
    expect(config.swarming[0]!.groups[0]!.count).toBe(20);
  });

  it('reads durations with units and sizes as numbers or percentages', () => {
    const doc = validDocument();
    doc.policy = { bootGrace: '10m', renewBefore: '1d', maxSurge: 2, maxUnavailable: '10%' };
    const { policy } = parseConfig(doc);
    expect(policy.bootGrace).toBe(600_000);
    expect(policy.renewBefore).toBe(86_400_000);
    expect(sizeOf(policy.maxSurge, 20)).toBe(2);
    expect(sizeOf(policy.maxUnavailable, 20)).toBe(2);
    expect(sizeOf('25%', 7)).toBe(2);
  });

  it('adds the trailing slash a MacService base URL needs and accepts http on loopback', () => {
    const doc = validDocument();
    doc.macService.url = 'http://127.0.0.1:8080/v1alpha1';
    doc.swarming[0].url = 'http://localhost:9000';
    const config = parseConfig(doc);
    expect(config.macService.url).toBe('http://127.0.0.1:8080/v1alpha1/');
    expect(config.swarming[0]!.url).toBe('http://localhost:9000');
  });

  it.each([
    ['a negative count', (d: any) => (d.swarming[0].groups[1].count = -1), 'swarming[0].groups[1].count: must be a whole number ≥ 0'],
    ['a fractional count', (d: any) => (d.swarming[0].groups[0].count = 1.5), 'swarming[0].groups[0].count: must be a whole number ≥ 0'],
    ['a count given as a string', (d: any) => (d.swarming[0].groups[0].count = '3'), 'swarming[0].groups[0].count: must be a whole number ≥ 0'],
    ['a missing customer', (d: any) => delete d.macService.customer, 'macService.customer: required'],
    ['a missing swarming list', (d: any) => delete d.swarming, 'swarming: required'],
    ['a missing group image', (d: any) => delete d.swarming[0].groups[0].image, 'swarming[0].groups[0].image: required'],
    ['a hostname listed twice under one host', (d: any) => (d.swarming[0].groups[1].hostname = 'darwin-amd64-14'), 'swarming[0].groups[1].hostname: duplicate hostname'],
    ['an image listed twice under one host', (d: any) => (d.swarming[0].groups[1].image = IMAGE_A), 'swarming[0].groups[1].image: duplicate image'],
    ['a swarming host listed twice', (d: any) => d.swarming.push(structuredClone(d.swarming[0])), 'swarming[1].host: duplicate swarming host'],
    ['an image that is not lowercase hex', (d: any) => (d.swarming[0].groups[0].image = 'A'.repeat(64)), 'swarming[0].groups[0].image: must be a SHA-256'],
    ['an image of the wrong length', (d: any) => (d.swarming[0].groups[0].image = 'a'.repeat(63)), 'swarming[0].groups[0].image: must be a SHA-256'],
    ['http:// to a host that is not loopback', (d: any) => (d.macService.url = 'http://macservice.example.com/'), 'macService.url: http:// is accepted only for loopback'],
    ['a swarming URL that is not a URL', (d: any) => (d.swarming[0].url = 'chromium-swarm'), 'swarming[0].url: must be an absolute http(s) URL'],
    ['a malformed secret reference', (d: any) => (d.swarming[0].groups[0].cert = 'secret:a/b/c/d'), 'swarming[0].groups[0].cert: malformed secret reference'],
    ['an empty secret name', (d: any) => (d.macService.apiKey = 'secret:'), 'macService.apiKey: malformed secret reference'],
    ['a malformed env reference', (d: any) => (d.swarming[0].groups[0].key = 'env:1BAD'), 'swarming[0].groups[0].key: malformed environment reference'],
    ['an unknown top-level key', (d: any) => (d.dryrun = true), '(document): unknown key "dryrun"'],
    ['a typo in a policy knob', (d: any) => (d.policy = { bootGrase: '2h' }), 'policy: unknown key "bootGrase"'],
    ['an unknown key in a group', (d: any) => (d.swarming[0].groups[0].counts = 2), 'swarming[0].groups[0]: unknown key "counts"'],
    ['a duration without a unit', (d: any) => (d.policy = { bootGrace: '60' }), 'policy.bootGrace: must be a duration'],
    ['a surge that is neither a number nor a percentage', (d: any) => (d.policy = { maxSurge: 'lots' }), 'policy.maxSurge: must be a whole number ≥ 0 or a percentage'],
    ['a vacate ceiling of 0', (d: any) => (d.policy = { vacateCeiling: 0 }), 'policy.vacateCeiling: must be a whole number from 1 to 10000'],
    ['a vacate ceiling beyond any real fleet', (d: any) => (d.policy = { vacateCeiling: 1e6 }), 'policy.vacateCeiling: must be a whole number from 1 to 10000'],
    ['a brake fraction above 1', (d: any) => (d.policy = { brakeFraction: 2 }), 'policy.brakeFraction: must be between 0 and 1'],
    ['a count beyond any real fleet', (d: any) => (d.swarming[0].groups[0].count = 1e12), 'swarming[0].groups[0].count: must be a whole number from 0 to 1000'],
    ['a renewBefore so short the fleet would expire', (d: any) => (d.policy = { renewBefore: '0s' }), 'policy.renewBefore: must be between 1h and 24h'],
    ['a bootGrace so short new VMs are vacated while booting', (d: any) => (d.policy = { bootGrace: '0s' }), 'policy.bootGrace: must be between 5m and 24h'],
    ['a pass deadline shorter than one request', (d: any) => (d.policy = { passDeadline: '20s', requestTimeout: '30s' }), 'policy.passDeadline: must be longer than requestTimeout'],
    ['no swarming host at all, which would drain the fleet', (d: any) => (d.swarming = []), 'swarming: must list at least one swarming host'],
    ['a host with no groups, which would drain it', (d: any) => (d.swarming[0].groups = []), 'swarming[0].groups: must list at least one group'],
    ['a mistyped secret scheme', (d: any) => (d.swarming[0].groups[0].cert = 'secrets:darwin-cert'), 'swarming[0].groups[0].cert: looks like a mistyped reference'],
    ['a capitalised secret scheme', (d: any) => (d.swarming[0].groups[0].key = 'Secret:darwin-key'), 'swarming[0].groups[0].key: looks like a mistyped reference'],
    ['an unknown scheme for the API key', (d: any) => (d.macService.apiKey = 'sm:macservice-api-key'), 'macService.apiKey: looks like a mistyped reference'],
    ['a gcp: scheme', (d: any) => (d.macService.apiKey = 'gcp:projects/p/secrets/k'), 'macService.apiKey: looks like a mistyped reference'],
    ['an env reference with a space', (d: any) => (d.swarming[0].groups[0].cert = 'env :CERT'), 'swarming[0].groups[0].cert: looks like a mistyped reference'],
    ['a literal cert that is not a PEM block', (d: any) => (d.swarming[0].groups[0].cert = 'darwin-cert'), 'swarming[0].groups[0].cert: a literal value must be a PEM block'],
    ['a literal API key with spaces', (d: any) => (d.macService.apiKey = 'my api key'), 'macService.apiKey: a literal API key must be'],
    ['a retired host that is also configured', (d: any) => (d.retiredHosts = ['chromium-swarm.appspot.com']), 'retiredHosts[0]: is also configured as swarming[0]'],
    ['a retired host listed twice', (d: any) => (d.retiredHosts = ['old.appspot.com', { host: 'old.appspot.com' }]), 'retiredHosts[1]: duplicate retired host'],
    ['a retired host that is not a host name', (d: any) => (d.retiredHosts = ['makemac/old.appspot.com']), 'retiredHosts[0]: must be a host name'],
    ['an unknown key in a retired host', (d: any) => (d.retiredHosts = [{ host: 'old.appspot.com', pools: 'p' }]), 'retiredHosts[0]'],
    ['a hostname containing the -- separator', (d: any) => (d.swarming[0].groups[0].hostname = 'darwin--14'), 'swarming[0].groups[0].hostname: must not contain "--"'],
  ])('rejects %s, naming the field', (_name, mutate, expected) => {
    const message = rejection(mutate);
    expect(message).toContain('config.json: ');
    expect(message).toContain(expected);
  });

  it('accepts literal PEM blocks and API keys, and retired hosts by name or with their pool', () => {
    const doc = validDocument();
    doc.macService.apiKey = 'AIzaSyD-literal_key.0123456789';
    doc.swarming[0].groups[0].cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    doc.swarming[0].groups[0].key = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----';
    doc.retiredHosts = ['old-swarm.appspot.com', { host: 'older.appspot.com', url: 'http://127.0.0.1:9999', pool: 'luci.old' }];
    expect(parseConfig(doc).retiredHosts).toEqual([
      { host: 'old-swarm.appspot.com', url: 'https://old-swarm.appspot.com', pool: null },
      { host: 'older.appspot.com', url: 'http://127.0.0.1:9999', pool: 'luci.old' },
    ]);
  });

  it('gives a malformed duration one message, not a second about its bounds', () => {
    expect(rejection((d) => (d.policy = { bootGrace: 'bogus' }))).toBe(
      'config.json: policy.bootGrace: must be a duration with a unit, such as "90s", "60m" or "22h"',
    );
  });

  it('never repeats a value from the document in its errors', () => {
    const message = rejection((d) => {
      d.macService.apiKey = 'secret:has spaces-TOPSECRET';
      d.swarming[0].groups[0].cert = { pem: 'TOPSECRET-CERT' };
    });
    expect(message).not.toContain('TOPSECRET');
    expect(message).toContain('macService.apiKey');
    expect(message).toContain('swarming[0].groups[0].cert');
  });

  it('reports invalid JSON by position without quoting the text', () => {
    expect(() => parseConfigText('{"macService": {"apiKey": "TOPSECRET', 'MAKEMAC_CONFIG')).toThrow(/^MAKEMAC_CONFIG: invalid JSON/);
    // V8's own message here quotes the text: `Unexpected token 'T', ..."apiKey": TOPSECRET}" is not valid JSON`.
    expect(() => parseConfigText('{"apiKey": TOPSECRET}', 'MAKEMAC_CONFIG')).toThrow(new ConfigError('MAKEMAC_CONFIG: invalid JSON'));
  });
});

describe('duplicate keys', () => {
  const text = JSON.stringify(validDocument(), null, 2);

  it('refuses a key given twice, naming the key and the path of its object', () => {
    // The second count would win silently: the operator meant one of them.
    const twice = text.replace('"count": 20,', '"count": 20, "count": 2000,');
    expect(() => parseConfigText(twice, 'fleet.json')).toThrow(
      new ConfigError('fleet.json: swarming[0].groups[0]: duplicate key "count" (JSON would keep only the last)'),
    );
    expect(() => parseConfigText(`{"dryRun": true, ${text.slice(1).replace(/}\s*$/, ', "dryRun": false}')}`, 'MAKEMAC_CONFIG')).toThrow(
      'MAKEMAC_CONFIG: (document): duplicate key "dryRun"',
    );
    // Escapes spell the same key differently.
    expect(() => parseConfigText(text.replace('"customer": "golang"', '"customer": "golang", "cust\\u006fmer": "x"'), 'c')).toThrow(
      'c: macService: duplicate key "customer"',
    );
  });

  it('accepts equal keys in different objects, and key-like strings among values', () => {
    const document = validDocument();
    document.swarming[0].groups[0].hostname = 'count';
    expect(parseConfigText(JSON.stringify(document), 'c').swarming[0]!.groups).toHaveLength(2);
    expect(parseConfigText(text, 'c').swarming[0]!.groups[1]!.count).toBe(7);
    // Quotes and backslashes inside strings do not confuse the scan.
    document.swarming[0].pool = 'a\\"b: "c", "pool": 1';
    expect(parseConfigText(JSON.stringify(document), 'c').swarming[0]!.pool).toBe(document.swarming[0].pool);
  });
});

describe('loadConfig', () => {
  const text = JSON.stringify(validDocument());
  const files: Record<string, string> = { '/etc/makemac.json': text };
  const readFile = (path: string) => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return content;
  };

  it('prefers --config, then MAKEMAC_CONFIG_FILE, then MAKEMAC_CONFIG', () => {
    const env = { MAKEMAC_CONFIG_FILE: '/missing.json', MAKEMAC_CONFIG: '{', ARM_KEY: 'k' };
    expect(loadConfig({ configFile: '/etc/makemac.json', env, readFile }).macService.customer).toBe('golang');
    expect(() => loadConfig({ env, readFile })).toThrow('cannot read config file /missing.json (ENOENT)');
    expect(() => loadConfig({ env: { MAKEMAC_CONFIG: '{' }, readFile })).toThrow('MAKEMAC_CONFIG: invalid JSON');
    expect(loadConfig({ env: { MAKEMAC_CONFIG: text, ARM_KEY: 'k' }, readFile }).swarming).toHaveLength(1);
  });

  it('refuses an env: reference to an unset variable, naming the field and the variable', () => {
    const env = { MAKEMAC_CONFIG: text };
    expect(() => loadConfig({ env, readFile })).toThrow(
      'MAKEMAC_CONFIG: swarming[0].groups[1].key: environment variable ARM_KEY is not set',
    );
    expect(loadConfig({ env: { ...env, ARM_KEY: 'k' }, readFile }).swarming[0]!.groups[1]!.key).toBe('env:ARM_KEY');
  });

  it('says where config can come from when there is none', () => {
    expect(() => loadConfig({ env: {}, readFile })).toThrow(/no config: pass --config FILE, or set MAKEMAC_CONFIG_FILE or MAKEMAC_CONFIG/);
  });
});
