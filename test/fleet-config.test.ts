// terraform/modules/fleet-config, run by the real terraform binary: for generated fleets — valid
// ones, and ones at and just past every bound the product has — terraform accepts exactly what
// the product's schema accepts, names the field it refuses, and renders a config the product
// parses. The policy cases are derived from policySchema itself, by probing each knob, so a knob
// or bound added to the schema fails here until the module mirrors it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktn/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema, policySchema } from '../shared/config/schema';
import { parseDuration } from '../shared/duration';
import {
  productConfigFromFleet,
  runFleetConfigCases,
  snakeCase,
  terraformInstalled,
  TERRAFORM_DIR,
  type ModuleCase,
  type ModuleVerdict,
} from './support/terraform';

type Json = any;

const PROJECT = 'example-makemac';
const IMAGE_A = 'a'.repeat(64);
const IMAGE_B = 'b'.repeat(64);

function group(hostname: string, image: string, count = 3): Json {
  return { hostname, image, count, cert_secret: `${hostname}-cert`, key_secret: `${hostname}-key` };
}
function baseFleet(): Json {
  return {
    macservice: { api_key_secret: 'macservice-api-key', customer: 'golang' },
    swarming: [
      { host: 'chromium-swarm.appspot.com', pool: 'luci.golang.shared-workers', groups: [group('darwin-amd64-14', IMAGE_A), group('darwin-arm64-15', IMAGE_B)] },
    ],
    policy: {},
  };
}
/** The base fleet with one change. */
function fleetWith(change: (fleet: Json) => void): Json {
  const fleet = baseFleet();
  change(fleet);
  return fleet;
}

// --- probing policySchema -----------------------------------------------------------------------

type Knob = keyof typeof policySchema.shape;
const KNOBS = Object.keys(policySchema.shape) as Knob[];
const acceptsValue = (knob: Knob, value: unknown) => policySchema.shape[knob].safeParse(value).success;

/** The largest n in [from, to] with accepts(n), given accepts(from) and one interval of acceptance. */
function lastAccepted(accepts: (n: number) => boolean, from: number, to: number): number {
  let [lo, hi] = [from, to];
  if (accepts(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (accepts(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
function firstAccepted(accepts: (n: number) => boolean, from: number, to: number): number {
  return -lastAccepted((n) => accepts(-n), -to, -from);
}

const UNITS: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
/** A duration in the largest unit that divides it, such as "24h". */
function naturalDuration(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0 && ms > 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}

const LIMIT_MS = 400 * 86_400_000;
const LIMIT_NUMBER = 1_000_000;

/** Values of every kind and shape: each knob gets all of them. */
const COMMON_VALUES: unknown[] = [
  true, false, 0, 1, -1, 0.5, 7, '5', 'true', '25%', '0%', '12.5%', '-5%', '25 %', 'abc', '',
  '1s', '60m', '1.5h', '2d', '7 days', '1H', ' 1s', '.5s', [], {},
];

interface KnobProbe {
  knob: Knob;
  /** Duration bounds in ms, when the knob takes durations. */
  durationMs?: [number, number];
  /** Number bounds (integers found by search), when the knob takes numbers. */
  number?: [number, number];
  values: unknown[];
}

function probeKnob(knob: Knob): KnobProbe {
  const probe: KnobProbe = { knob, values: [...COMMON_VALUES] };
  const acceptsMs = (ms: number) => acceptsValue(knob, `${ms}ms`);
  const someMs = [0, 1, 1_000, 60_000, 3_600_000, 86_400_000].find(acceptsMs);
  if (someMs !== undefined) {
    const lo = firstAccepted(acceptsMs, 0, someMs);
    const hi = lastAccepted(acceptsMs, someMs, LIMIT_MS);
    probe.durationMs = [lo, hi];
    // At each bound, just inside it and just past it, in several spellings; sub-millisecond
    // values check the rounding.
    for (const ms of [lo, hi]) probe.values.push(`${ms}ms`, naturalDuration(ms), `${ms / 1000}s`);
    if (lo > 0) probe.values.push(`${lo - 1}ms`, `${(lo - 1) / 1000}s`, `${(lo - 0.4) / 1000}s`, `${(lo - 0.6) / 1000}s`);
    probe.values.push(`${hi + 1}ms`, `${(hi + 0.4) / 1000}s`, `${(hi + 0.6) / 1000}s`, `${hi / 3_600_000 + 1}h`);
  }
  const acceptsNumber = (n: number) => acceptsValue(knob, n);
  const someNumber = [0, 1, 2, 10, 0.5].find(acceptsNumber);
  if (someNumber !== undefined) {
    const lo = firstAccepted(acceptsNumber, -LIMIT_NUMBER, Math.floor(someNumber));
    const hi = lastAccepted(acceptsNumber, Math.floor(someNumber), LIMIT_NUMBER);
    probe.number = [lo, hi];
    probe.values.push(lo, lo - 1, lo + 0.5, lo - 0.001, hi, hi + 1, hi - 0.5, hi + 0.001, String(hi));
  }
  return probe;
}

const PROBES = KNOBS.map(probeKnob);
const DURATION_PROBES = PROBES.filter((p) => p.durationMs);

// --- cases --------------------------------------------------------------------------------------
// A module instance costs terraform some 40 evaluations, so values are batched: case j sets every
// field to its j-th value at once, and terraform must refuse exactly the fields the schema refuses.

interface Case extends ModuleCase {
  name: string;
  /** The fields terraform must refuse, when not derived from the schema's issue paths. */
  fields?: string[];
}

/** Case j takes the j-th value of every column. */
function batches<T>(columns: Record<string, readonly T[]>): Record<string, T>[] {
  const length = Math.max(...Object.values(columns).map((values) => values.length));
  return Array.from({ length }, (_, j) =>
    Object.fromEntries(Object.entries(columns).filter(([, values]) => j < values.length).map(([key, values]) => [key, values[j]!])),
  );
}

const policyCase = (name: string, policy: unknown): Case => ({
  name, projectId: PROJECT, dryRun: false, fleet: fleetWith((f) => (f.policy = policy)),
});

function policyCases(): Case[] {
  const cases: Case[] = [];
  const columns = Object.fromEntries(PROBES.map((p) => [snakeCase(p.knob), p.values]));
  batches(columns).forEach((policy, j) => cases.push(policyCase(`policy values #${j}`, policy)));
  // Values each knob accepts, together, so that many accepted configs are rendered.
  const accepted = Object.fromEntries(PROBES.map((p) => [snakeCase(p.knob), p.values.filter((v) => acceptsValue(p.knob, v))]));
  batches(accepted).forEach((policy, j) => cases.push(policyCase(`accepted policy values #${j}`, policy)));
  // Rules across knobs: every duration knob at either of its bounds, in every combination.
  for (let bits = 0; bits < 2 ** DURATION_PROBES.length; bits++) {
    const policy = Object.fromEntries(DURATION_PROBES.map((p, i) => [snakeCase(p.knob), naturalDuration(p.durationMs![(bits >> i) & 1]!)]));
    cases.push(policyCase(`duration bounds ${JSON.stringify(policy)}`, policy));
  }
  cases.push(policyCase('policy.pass_deadline equal to request_timeout', { pass_deadline: '30s', request_timeout: '30s' }));
  cases.push(policyCase('policy.pass_deadline 1ms longer than request_timeout', { pass_deadline: '30.001s', request_timeout: '30s' }));
  cases.push(policyCase('an unknown knob and a camelCase one', { boot_grac: '60m', bootGrace: '60m' }));
  cases.push(policyCase('policy is not an object', 'x'));
  return cases;
}

/** Every field outside the policy, at and past what the product accepts. */
function fleetCases(): Case[] {
  const g0 = (f: Json) => f.swarming[0].groups[0];
  const s0 = (f: Json) => f.swarming[0];
  const setters: Record<string, (f: Json, value: Json) => void> = {
    url: (f, v) => (f.macservice.url = v),
    customer: (f, v) => (f.macservice.customer = v),
    profile: (f, v) => (f.macservice.profile = v),
    accessLevel: (f, v) => (f.macservice.access_level = v),
    apiKey: (f, v) => (f.macservice.api_key_secret = v),
    cert: (f, v) => (g0(f).cert_secret = v),
    key: (f, v) => (f.swarming[0].groups[1].key_secret = v),
    host: (f, v) => (s0(f).host = v),
    swarmingUrl: (f, v) => (s0(f).url = v),
    pool: (f, v) => (s0(f).pool = v),
    hostname: (f, v) => (g0(f).hostname = v),
    image: (f, v) => (g0(f).image = v),
    count: (f, v) => (g0(f).count = v),
  };
  const secretNames = ['k', 'a_B-9', 'x'.repeat(255), 'x'.repeat(256), '', 'secret:k', 'other-proj/k', 'k/versions/1', 'k k'];
  // The count's bounds, found in the schema rather than copied from it.
  const acceptsCount = (count: number) => configSchema.safeParse(productConfigFromFleet(PROJECT, fleetWith((f) => (g0(f).count = count)), false)).success;
  const [lo, hi] = [firstAccepted(acceptsCount, -LIMIT_NUMBER, 3), lastAccepted(acceptsCount, 3, LIMIT_NUMBER)];
  const columns: Record<string, Json[]> = {
    url: ['https://macservice.example.com/v1/', 'https://macservice-pa.googleapis.com/v1alpha1', 'http://127.0.0.1:8080/', 'http://localhost:9/x/', 'http://[::1]:80/', 'http://127.9.9.9/', 'http://example.com/', 'ftp://example.com/', 'macservice.example.com', 'not a url'],
    customer: ['golang', 'go-lang-2', 'Golang', 'go_lang', '', 'go lang'],
    profile: ['V1_LARGE_VM', ''],
    accessLevel: ['', 'GOLANG_OSS'],
    apiKey: secretNames,
    cert: [...secretNames].reverse(),
    key: [...secretNames.slice(4), ...secretNames.slice(0, 4)],
    host: ['chromium-swarm.appspot.com', 'localhost:8080', 'https://chromium-swarm.appspot.com', 'a', 'Chromium-swarm.appspot.com', 'host/path', 'host.com:', 'host.com:80:80', ''],
    swarmingUrl: ['https://swarm.example.com', 'http://swarm.example.com', 'http://127.0.0.1:1', 'swarm.example.com'],
    pool: ['', 'p'],
    hostname: ['darwin', 'a--b', 'a.b-c', '-a', '9', 'Darwin', 'a_b', '', 'a-'],
    image: [IMAGE_A.slice(1), IMAGE_A, `${IMAGE_A}a`, IMAGE_A.toUpperCase(), `g${IMAGE_A.slice(1)}`],
    count: [lo - 1, lo, lo + 0.5, hi - 1, hi, hi + 1, hi + 0.5],
  };
  const cases: Case[] = batches(columns).map((values, j) => ({
    name: `fleet values #${j} ${JSON.stringify(values).slice(0, 200)}`,
    projectId: PROJECT,
    dryRun: false,
    fleet: fleetWith((f) => Object.entries(values).forEach(([key, value]) => setters[key]!(f, value))),
  }));

  const add = (name: string, change: (fleet: Json) => void) => cases.push({ name, projectId: PROJECT, dryRun: false, fleet: fleetWith(change) });
  cases.push({ name: 'dry run', projectId: PROJECT, dryRun: true, fleet: baseFleet() });
  add('no swarming host', (f) => (f.swarming = []));
  add('no group', (f) => (s0(f).groups = []));
  add('two hosts', (f) => f.swarming.push({ host: 'chrome-swarming.appspot.com', pool: 'p', groups: [group('darwin-amd64-14', IMAGE_A)] }));
  add('a host twice', (f) => f.swarming.push({ host: s0(f).host, pool: 'p', groups: [group('darwin-x', 'c'.repeat(64))] }));
  add('a hostname twice under one host', (f) => (f.swarming[0].groups[1].hostname = g0(f).hostname));
  add('an image twice under one host', (f) => (f.swarming[0].groups[1].image = IMAGE_A));
  // Retired hosts: each alone, as the schema checks them against the rest of the config.
  const retired: Json[] = [
    [], ['old-swarm.appspot.com'], ['old-swarm.appspot.com', { host: 'older.appspot.com', pool: 'p', url: 'https://older.example.com' }],
    [{ host: 'old-swarm.appspot.com', url: null }], ['Old-swarm.appspot.com'], ['https://old-swarm.appspot.com'], [5], [true], [{}],
    [{ host: 'Old.appspot.com' }], [{ host: 'old.appspot.com', pool: '' }], [{ host: 'old.appspot.com', url: 'http://old.example.com' }],
    [{ host: 'old.appspot.com', url: 'http://127.0.0.1:9' }], [{ host: 'old.appspot.com', extra: 1 }], [{ host: 'old.appspot.com' }, 'old.appspot.com'],
    ['chromium-swarm.appspot.com'], ['a.appspot.com', 'a.appspot.com'], 'old-swarm.appspot.com', { host: 'old.appspot.com' }, [['old.appspot.com']],
  ];
  for (const hosts of retired) add(`retired_hosts ${JSON.stringify(hosts)}`, (f) => (f.retired_hosts = hosts));
  for (const projectId of ['abcdef', 'a'.repeat(30), 'abcde', 'a'.repeat(31), 'Example-proj', '123456789012', 'example-proj-'])
    cases.push({ name: `project_id ${projectId}`, projectId, dryRun: false, fleet: baseFleet(), fields: ['project_id'] });
  return cases;
}

// --- comparing --------------------------------------------------------------------------------

const TERRAFORM_NAMES: Record<string, string> = {
  macService: 'macservice', apiKey: 'api_key_secret', cert: 'cert_secret', key: 'key_secret',
};
const ACROSS_KNOBS = ' (across knobs)';

/** The name terraform's messages use for the field at a schema issue's path. */
function terraformField(issuePath: readonly PropertyKey[]): string {
  return `fleet${issuePath.map((p) => (typeof p === 'number' ? '[*]' : `.${TERRAFORM_NAMES[String(p)] ?? snakeCase(String(p))}`)).join('')}`;
}

/** The fields the schema refuses; a rule relating two knobs is marked as such. */
function schemaRefusals(c: Case): Set<string> {
  const result = configSchema.safeParse(productConfigFromFleet(c.projectId, c.fleet, c.dryRun));
  if (result.success) return new Set();
  if (c.fields) return new Set(c.fields);
  return new Set(result.error.issues.map((issue) => terraformField(issue.path) + (/longer than/.test(issue.message) ? ACROSS_KNOBS : '')));
}

/** The fields terraform's messages name: each message, or each "; "-separated part, starts with one. */
function terraformRefusals(errors: readonly string[]): Set<string> {
  return new Set(
    errors.flatMap((error) =>
      error.split('; ').map((part) => {
        const field = /^(project_id|fleet(?:\.[a-z_]+|\[\*\])*)(?!\w)/.exec(part)?.[1];
        return field ? field + (/longer than/.test(part) ? ACROSS_KNOBS : '') : `(no field named) ${part}`;
      }),
    ),
  );
}

const terraformDescribe = describe.skipIf(!terraformInstalled);

terraformDescribe('fleet-config module: terraform refuses exactly what the product refuses', () => {
  const cases = [...policyCases(), ...fleetCases()];
  let verdicts: ModuleVerdict[];

  beforeAll(() => {
    verdicts = runFleetConfigCases(cases);
  }, 120_000);

  it('finds the bounds the README states, a check of the probe itself', () => {
    expect(PROBES.find((p) => p.knob === 'bootGrace')!.durationMs).toEqual([300_000, 86_400_000]);
    expect(PROBES.find((p) => p.knob === 'requestTimeout')!.durationMs).toEqual([100, 300_000]);
    expect(PROBES.find((p) => p.knob === 'concurrency')!.number).toEqual([1, 64]);
    expect(PROBES.find((p) => p.knob === 'brakeFraction')!.number).toEqual([0, 1]);
  });

  it('refuses each field the schema refuses, naming it, and no other', () => {
    const disagreements = cases.flatMap((c, i) => {
      const schema = schemaRefusals(c);
      const terraform = terraformRefusals(verdicts[i]!.errors);
      // The schema checks the rule across knobs only once every knob passed its own checks
      // (zod skips refinements after an aborting issue); terraform checks it whenever both
      // durations parse. Either way the fleet is refused.
      const extra = [...terraform].filter((f) => !schema.has(f) && !(f.endsWith(ACROSS_KNOBS) && schema.size > 0));
      const missing = [...schema].filter((f) => !terraform.has(f));
      if (extra.length === 0 && missing.length === 0) return [];
      return [`${c.name}: ${JSON.stringify(c.fleet.policy)}: terraform also refuses [${extra.join(', ')}], does not refuse [${missing.join(', ')}]; its messages: ${verdicts[i]!.errors.join(' | ')}`];
    });
    expect(disagreements).toEqual([]);
  });

  it('sees every knob both accepted and refused, so no knob agrees vacuously', () => {
    for (const probe of PROBES) {
      const key = snakeCase(probe.knob);
      const field = `fleet.policy.${key}`;
      const withKnob = cases.map((c, i) => [c, terraformRefusals(verdicts[i]!.errors)] as const).filter(([c]) => key in Object(c.fleet.policy));
      expect(withKnob.some(([, refused]) => !refused.has(field)), key).toBe(true);
      expect(withKnob.some(([, refused]) => refused.has(field)), key).toBe(true);
    }
  });

  it("states each knob's bounds in its message, as the schema has them", () => {
    for (const probe of PROBES) {
      const field = `fleet.policy.${snakeCase(probe.knob)} must be`;
      const message = verdicts.flatMap((v) => v.errors.flatMap((e) => e.split('; '))).find((part) => part.startsWith(field) && !/longer than/.test(part));
      expect(message, probe.knob).toBeDefined();
      if (probe.durationMs) {
        const [, from, to] = /from (\S+) to (\S+)$/.exec(message!) ?? [];
        expect([parseDuration(from ?? ''), parseDuration(to ?? '')], message).toEqual(probe.durationMs);
      } else if (probe.number) {
        const [lo, hi] = probe.number;
        expect(message).toMatch(hi === LIMIT_NUMBER ? new RegExp(`(at least ${lo}|${lo} or more)`) : new RegExp(`from ${lo} to ${hi}$`));
      }
    }
  });

  it('renders, for every accepted fleet, a config the schema parses and that says what the fleet says', () => {
    let rendered = 0;
    cases.forEach((c, i) => {
      const { config } = verdicts[i]!;
      if (!config) return;
      rendered++;
      expect(config, c.name).toEqual(productConfigFromFleet(c.projectId, c.fleet, c.dryRun));
      expect(configSchema.safeParse(config).success, c.name).toBe(true);
    });
    expect(rendered).toBeGreaterThan(30);
  });
});

terraformDescribe('fleet-config module: the example tfvars', () => {
  it('renders the example fleet into a config the schema parses, as a dry run', async () => {
    const vars = await parse('terraform.tfvars', readFileSync(path.join(TERRAFORM_DIR, 'terraform.tfvars.example'), 'utf8'));
    const [verdict] = runFleetConfigCases([{ projectId: vars.project_id, dryRun: vars.dry_run, fleet: vars.fleet }]);
    expect(verdict!.errors).toEqual([]);
    const config = configSchema.parse(verdict!.config);
    expect(config.dryRun).toBe(true);
    expect(config.swarming.flatMap((s) => s.groups)).toHaveLength(12);
    expect(config.macService.apiKey).toBe(`secret:${vars.project_id}/macservice-api-key`);
  }, 60_000);
});
