// Bad input from both APIs, through the real clients: a corpus of known-bad answers plus
// fast-check fuzzing. Every answer ends in a correct parse or a typed ApiError — never a crash,
// a hang, an unbounded read, a secret in a message, or (for observation-level garbage) a mutation.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bot, Lease } from '../shared/fleet';
import type { LeaseList } from '../shared/observe';
import { ApiError, postJson } from '../shared/http';
import { MacServiceClient } from '../shared/macservice/client';
import { readInstance } from '../shared/macservice/wire';
import { startMacServiceFake, type MacServiceFake } from '../shared/sim/macservice-fake';
import { startSwarmingFake, type SwarmingFake } from '../shared/sim/swarming-fake';
import { World } from '../shared/sim/world';
import { SwarmingClient } from '../shared/swarming/client';
import { botInfoListResponse, XSSI_PREFIX } from '../shared/swarming/wire';
import { parseTimestamp } from '../shared/timestamp';
import { IMAGE_14, PUBLIC_HOST, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { mutationsOf, requestsOf, runFleetPass } from './support/pass-harness';
import { answer, startRawServer, type RawServer } from './support/raw-server';
import { findAnswer, serveFind } from './support/find-answer';
import { HOUR } from './builders';

/** Planted in every string value of fuzzed MacService answers: it must never reach a message. */
const MARK = 'ZZMETADATA-SECRETZZ';
const API_KEY = 'AIzaFUZZ-api-key-000';
const LEASE_A = '39b47cf6-2aaa-4c80-b9cb-b800844fb104';
const LEASE_B = '5d0e0a8e-3c0a-4f33-9d55-2f0e3c1b9a77';
const POOL = 'luci.golang.shared-workers';

function instance(leaseId: string, overrides: Record<string, unknown> = {}) {
  return {
    lease: {
      leaseId,
      vmResourceNamespace: { customerName: 'golang', projectName: `makemac/${PUBLIC_HOST}` },
      expires: '2026-08-03T10:00:00Z',
    },
    instanceSpecification: {
      profile: 'V1_MEDIUM_VM',
      accessLevel: 'GOLANG_OSS',
      metadata: [
        { key: 'golang.hostname', value: 'darwin-amd64-14' },
        { key: 'golang.cert', value: `${MARK}-cert` },
        { key: 'golang.key', value: `${MARK}-key` },
      ],
      diskSelection: { imageHashes: { bootSha256: IMAGE_14 } },
    },
    ...overrides,
  };
}

const validFind = () => ({ instances: [instance(LEASE_A), instance(LEASE_B)] });

/** Every lease well formed, and every malformed one described without a value from the answer. */
function expectWellFormedList(list: LeaseList): void {
  expectWellFormedLeases(list.leases);
  for (const lease of list.malformed) {
    expect(lease.projectName.startsWith('makemac/')).toBe(true);
    expect(lease.problem).not.toContain(MARK);
    expect(lease.problem.length).toBeLessThan(600);
  }
  expect(Number.isInteger(list.skipped) && list.skipped >= 0).toBe(true);
}

const EMPTY_LIST: LeaseList = { leases: [], malformed: [], skipped: 0 };

/** The outcome of a call: its value, or the ApiError it failed with. Anything else fails the test. */
async function settle<T>(call: Promise<T>): Promise<{ value: T } | { error: ApiError }> {
  try {
    return { value: await call };
  } catch (err) {
    if (!(err instanceof ApiError)) throw new Error(`not an ApiError: ${String(err)}`, { cause: err });
    return { error: err };
  }
}

function expectWellFormedLeases(leases: Lease[]): void {
  for (const lease of leases) {
    // Only the keys a pass reads are kept: never the bot cert and key.
    expect(Object.keys(lease.metadata).every((key) => key === 'golang.hostname' || key === 'makemac.created')).toBe(true);
    expect(typeof lease.leaseId).toBe('string');
    expect(lease.leaseId.length).toBeGreaterThan(0);
    expect(typeof lease.customerName).toBe('string');
    expect(typeof lease.projectName).toBe('string');
    expect(typeof lease.image).toBe('string');
    expect(lease.expiresAt === null || Number.isFinite(lease.expiresAt)).toBe(true);
    for (const value of Object.values(lease.metadata)) expect(typeof value).toBe('string');
  }
}

function expectWellFormedBots(bots: Bot[]): void {
  for (const bot of bots) {
    expect(typeof bot.botId).toBe('string');
    expect(bot.botId.length).toBeGreaterThan(0);
    expect(typeof bot.isDead).toBe('boolean');
    expect(bot.taskId === null || typeof bot.taskId === 'string').toBe(true);
    expect(bot.lastSeenAt === null || Number.isFinite(bot.lastSeenAt)).toBe(true);
  }
}

// ---- Timestamps -------------------------------------------------------------------------------

const YEAR_1 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const YEAR_10000 = 253_402_300_800_000; // 10000-01-01T00:00:00Z
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** An RFC 3339 text for `ms` with `digits` fractional digits (sub-ms ones from `subMs`) at `offsetMinutes`. */
function rfc3339(ms: number, digits: number, subMs: number, offsetMinutes: number | 'Z'): string {
  const local = new Date(ms + (offsetMinutes === 'Z' ? 0 : offsetMinutes * 60_000));
  const fraction = `${pad(local.getUTCMilliseconds(), 3)}${pad(subMs, 6)}`.slice(0, digits);
  const zone =
    offsetMinutes === 'Z'
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMinutes) / 60), 2)}:${pad(Math.abs(offsetMinutes) % 60, 2)}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}` +
    `T${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}` +
    `${digits > 0 ? `.${fraction}` : ''}${zone}`
  );
}

/** `ms` with the milliseconds a `digits`-wide fraction keeps (sub-millisecond digits are truncated). */
function truncatedTo(ms: number, digits: number): number {
  const millis = ((ms % 1000) + 1000) % 1000;
  const kept = Number(pad(millis, 3).slice(0, Math.min(digits, 3)).padEnd(3, '0'));
  return ms - millis + kept;
}

const INVALID_TIMESTAMPS = [
  '',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:60:00Z',
  '2026-01-01T00:00:60Z',
  '2026-01-01T00:00:00',
  '2026-01-01T00:00:00.Z',
  '2026-01-01T00:00:00.1234567890Z',
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00:00+01:60',
  '2026-01-01T00:00:00+0100',
  '2026-01-01T00:00:00+01',
  '2026-01-01 00:00:00Z',
  '26-01-01T00:00:00Z',
  '+002026-01-01T00:00:00Z',
  '2026-1-01T00:00:00Z',
  '2026-01-01T00:00:00ZZ',
  ' 2026-01-01T00:00:00Z',
  '2026-01-01T00:00:00Z\n',
  '1785664800',
  'Sun, 02 Aug 2026 10:00:00 GMT',
  'yesterday',
];

describe('RFC 3339 timestamps from either API', () => {
  it('parse in every width (0–9 fractional digits), with Z or any offset, to the truncated millisecond', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: YEAR_1 + 2 * 86_400_000, max: YEAR_10000 - 2 * 86_400_000 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.oneof(fc.constant<'Z'>('Z'), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
        (ms, digits, subMs, offset) => {
          const text = rfc3339(ms, digits, subMs, offset);
          const expected = truncatedTo(ms, digits);
          expect(parseTimestamp(text), text).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])('parse %i fractional digits at a fixed instant', (digits) => {
    const text = `2026-08-02T10:00:00${digits ? `.${'123456789'.slice(0, digits)}` : ''}Z`;
    const expected = Date.parse('2026-08-02T10:00:00Z') + Number('123'.slice(0, digits).padEnd(3, '0'));
    expect(parseTimestamp(text)).toBe(expected);
    expect(parseTimestamp(text.replace('Z', '-07:30'))).toBe(expected + 7.5 * HOUR);
    expect(parseTimestamp(text.replace('Z', '+05:45'))).toBe(expected - 5.75 * HOUR);
  });

  it.each(INVALID_TIMESTAMPS)('reject %j', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });

  it('never throw on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const parsed = parseTimestamp(text);
        expect(parsed === null || Number.isFinite(parsed)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- The schemas directly (fast) ---------------------------------------------------------------

/** Junk to put in place of any value of a valid answer. */
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.boolean(),
  fc.string({ maxLength: 8 }).map((s) => `${MARK}${s}`),
  fc.constant(''),
  fc.constant('2026-02-30T00:00:00Z'),
  fc.constant(`${MARK}`.repeat(1000)),
  fc.array(fc.constant(MARK), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.constant(MARK), { maxKeys: 3 }),
);

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix.concat(Array.isArray(value) ? Number(key) : key);
    return [path, ...paths(child, path)];
  });
}

function withJunk(document: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(document) as any;
  let node = copy;
  for (const part of path.slice(0, -1)) node = node[part];
  if (value === undefined) delete node[path[path.length - 1]!];
  else node[path[path.length - 1]!] = value;
  return copy;
}

const FIND_PATHS = paths(validFind());
const isOwned = (namespace: { customerName: string; projectName: string }) => namespace.customerName === 'golang' && namespace.projectName === `makemac/${PUBLIC_HOST}`;
const INSTANCE_PATHS = paths(instance(LEASE_A));

describe('the response schemas, fuzzed directly', () => {
  it('readInstance never throws, whatever JSON it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => readInstance(value, isOwned)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('readInstance: a valid instance with any one value replaced is a lease, a malformed managed lease named by path, or skipped', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INSTANCE_PATHS), junk, (path, value) => {
        const reading = readInstance(withJunk(instance(LEASE_A), path, value), isOwned);
        if (reading.kind === 'lease') expectWellFormedLeases([reading.lease]);
        if (reading.kind === 'malformed') expect(reading.lease.problem).not.toContain(MARK);
      }),
      { numRuns: 500 },
    );
  });

  it('botInfoListResponse never throws, whatever JSON it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => botInfoListResponse.safeParse(value)).not.toThrow();
        expect(() => botInfoListResponse.safeParse({ items: [value] })).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

// ---- MacService through the real client ----------------------------------------------------------

describe('MacService answers, through the real client', () => {
  let world: World;
  let fake: MacServiceFake;
  let raw: RawServer;
  const messages: string[] = [];
  const client = (url = fake.url, timeoutMs = 2_000) =>
    new MacServiceClient({ url, apiKey: async () => API_KEY, customer: 'golang', timeoutMs });

  beforeAll(async () => {
    world = new World();
    fake = await startMacServiceFake({ world, apiKey: API_KEY });
    raw = await startRawServer((_req, _body, res) => answer(res, 500, ''));
  });
  afterEach(() => fake.clearFaults());
  afterAll(async () => {
    await Promise.all([fake.close(), raw.close()]);
    expect(messages.length).toBeGreaterThan(20);
    for (const message of messages) {
      expect(message).not.toContain(MARK);
      expect(message).not.toContain(API_KEY);
      expect(message.length).toBeLessThan(600);
    }
  });

  /** The request timeout covers reading and parsing the answer as it streams: room for the huge ones on a busy machine. */
  async function findWith(body: string, timeoutMs = 2_000) {
    fake.inject('find', { kind: 'garbage', body, times: 1 });
    const outcome = await settle(client(fake.url, timeoutMs).find());
    if ('error' in outcome) messages.push(outcome.error.message);
    return outcome;
  }

  const BAD_FIND_BODIES: [string, string][] = [
    ['empty body', ''],
    ['null', 'null'],
    ['an array', '[]'],
    ['a string', '"instances"'],
    ['a number', '42'],
    ['truncated JSON', JSON.stringify(validFind()).slice(0, 150)],
    ['truncated mid-secret', JSON.stringify(validFind()).split(`${MARK}-key`)[0]! + MARK],
    ['an HTML error page', `<!DOCTYPE html><html><head><title>Error 502</title></head><body>Bad Gateway ${MARK}</body></html>`],
    ['instances not a list', JSON.stringify({ instances: { [LEASE_A]: instance(LEASE_A) } })],
    ['a numeric page token', JSON.stringify({ ...validFind(), nextPageToken: 7 })],
  ];

  /** One bad instance among good ones: the answer stands, the instance is set apart or skipped. */
  const BAD_INSTANCES: [string, unknown, 'malformed' | 'skipped'][] = [
    ['a null instance', null, 'skipped'],
    ['an instance without a lease', { instanceSpecification: {} }, 'skipped'],
    ['no namespace', { lease: { leaseId: LEASE_A, expires: '2026-08-03T10:00:00Z' } }, 'skipped'],
    ['an empty lease id', instance(''), 'malformed'],
    ['a numeric lease id', { ...instance(LEASE_A), lease: { ...instance(LEASE_A).lease, leaseId: 7 } }, 'malformed'],
    ['expires not a timestamp', { ...instance(LEASE_A), lease: { ...instance(LEASE_A).lease, expires: `${MARK}` } }, 'malformed'],
    ['expires empty', { ...instance(LEASE_A), lease: { ...instance(LEASE_A).lease, expires: '' } }, 'malformed'],
    ['expires a number', { ...instance(LEASE_A), lease: { ...instance(LEASE_A).lease, expires: 1785664800 } }, 'malformed'],
    ['expires on 30 February', { ...instance(LEASE_A), lease: { ...instance(LEASE_A).lease, expires: '2026-02-30T00:00:00Z' } }, 'malformed'],
    ['metadata an object', instance(LEASE_A, { instanceSpecification: { metadata: { 'golang.key': MARK } } }), 'malformed'],
    ['a metadata value not a string', instance(LEASE_A, { instanceSpecification: { metadata: [{ key: 'golang.key', value: { pem: MARK } }] } }), 'malformed'],
  ];

  it.each(BAD_INSTANCES)('reads the other leases of an answer with %s, which is set apart or skipped without quoting it', async (_name, bad, fate) => {
    const outcome = await findWith(JSON.stringify({ instances: [instance(LEASE_B), bad] }));
    if (!('value' in outcome)) throw new Error(`expected a parse, got ${outcome.error.message}`);
    expectWellFormedList(outcome.value);
    expect(outcome.value.leases.map((l) => l.leaseId)).toEqual([LEASE_B]);
    expect([outcome.value.malformed.length, outcome.value.skipped]).toEqual(fate === 'malformed' ? [1, 0] : [0, 1]);
  });

  it.each(BAD_FIND_BODIES)('refuses %s as a terminal ApiError that quotes nothing from the body', async (_name, body) => {
    const outcome = await findWith(body);
    expect('error' in outcome).toBe(true);
    if (!('error' in outcome)) return;
    expect(outcome.error.details).toMatchObject({ endpoint: 'macservice leases:find', status: 200, retryable: false });
    expect(outcome.error.message).toMatch(/^macservice leases:find: invalid 200 response: /);
  });

  it('reads an empty object, null instances and unknown fields at every level as Go would', async () => {
    expect(await findWith('{}')).toEqual({ value: EMPTY_LIST });
    expect(await findWith('{"instances":null,"nextPageToken":null}')).toEqual({ value: EMPTY_LIST });
    const extra = {
      surprise: { nested: [1, 2, 3] },
      instances: [
        {
          ...instance(LEASE_A),
          extra: true,
          lease: { ...instance(LEASE_A).lease, vmResourceNamespace: { customerName: 'golang', projectName: `makemac/${PUBLIC_HOST}`, zone: 'x' }, state: 'ACTIVE' },
        },
      ],
    };
    const outcome = await findWith(JSON.stringify(extra));
    expect(outcome).toMatchObject({ value: { leases: [{ leaseId: LEASE_A, image: IMAGE_14, expiresAt: Date.parse('2026-08-03T10:00:00Z') }] } });
  });

  it('reads a lease without expiry or specification with zero values', async () => {
    const bare = { lease: { leaseId: LEASE_A, vmResourceNamespace: { customerName: 'golang' } } };
    expect(await findWith(JSON.stringify({ instances: [bare] }))).toEqual({
      value: { ...EMPTY_LIST, leases: [{ leaseId: LEASE_A, customerName: 'golang', projectName: '', expiresAt: null, image: '', metadata: {} }] },
    });
  });

  it('hands a lease listed twice to the observation, which collapses it', async () => {
    const outcome = await findWith(JSON.stringify({ instances: [instance(LEASE_A), instance(LEASE_B), instance(LEASE_A)] }));
    expect('value' in outcome && outcome.value.leases.map((l) => l.leaseId)).toEqual([LEASE_A, LEASE_B, LEASE_A]);
  });

  it('keeps keys named __proto__ as plain data and drops metadata keys a pass does not read', async () => {
    const body = `{"instances":[{"lease":{"leaseId":"${LEASE_A}","vmResourceNamespace":{"customerName":"golang","projectName":"makemac/${PUBLIC_HOST}"},"__proto__":{"polluted":1}},"instanceSpecification":{"metadata":[{"key":"__proto__","value":"x"},{"key":"constructor","value":"y"},{"key":"golang.hostname","value":"h"}]}}]}`;
    const outcome = await findWith(body);
    if (!('value' in outcome)) throw new Error('expected a parse');
    const metadata = outcome.value.leases[0]!.metadata;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(metadata).toEqual({ 'golang.hostname': 'h' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads every timestamp width in `expires`', async () => {
    const base = Date.parse('2026-08-03T10:00:00Z');
    for (let digits = 0; digits <= 9; digits++) {
      const expires = `2026-08-03T12:00:00${digits ? `.${'987654321'.slice(0, digits)}` : ''}+02:00`;
      const outcome = await findWith(JSON.stringify({ instances: [{ lease: { ...instance(LEASE_A).lease, expires } }] }));
      expect(outcome, expires).toMatchObject({ value: { leases: [{ expiresAt: base + Number('987'.slice(0, digits).padEnd(3, '0')) }] } });
    }
  });

  it('reads huge strings and huge lists without trouble', async () => {
    const hugeId = 'a'.repeat(2_000_000);
    const many = Array.from({ length: 20_000 }, (_, i) => instance(`00000000-0000-4000-8000-${pad(i, 12)}`));
    const hugeUnknown = { ...validFind(), padding: MARK.repeat(200_000) };
    expect(await findWith(JSON.stringify({ instances: [instance(hugeId)] }), 20_000)).toMatchObject({ value: { leases: [{ leaseId: hugeId }] } });
    const outcome = await findWith(JSON.stringify({ instances: many }), 20_000);
    expect('value' in outcome && outcome.value.leases.length).toBe(20_000);
    expect(await findWith(JSON.stringify(hugeUnknown), 20_000)).toMatchObject({ value: { leases: [{ leaseId: LEASE_A }, { leaseId: LEASE_B }] } });
    // And a huge invalid one still makes a short description.
    const invalid = await findWith(JSON.stringify({ instances: [instance(LEASE_A, { instanceSpecification: { metadata: MARK.repeat(100_000) } })] }), 20_000);
    if (!('value' in invalid)) throw new Error('expected a parse');
    expectWellFormedList(invalid.value);
    expect(invalid.value.malformed).toHaveLength(1);
  });

  it('fuzzed: any JSON document is a list of well-formed leases or a terminal ApiError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const outcome = await findWith(JSON.stringify(value));
        if ('value' in outcome) expectWellFormedList(outcome.value);
        else expect(outcome.error.details.retryable).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('fuzzed: a valid answer with any one value replaced by junk parses to well-formed leases or fails without quoting it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIND_PATHS), junk, async (path, value) => {
        const outcome = await findWith(JSON.stringify(withJunk(validFind(), path, value)));
        if ('value' in outcome) expectWellFormedList(outcome.value);
      }),
      { numRuns: 200 },
    );
  });

  it('fuzzed: any text at all, cut anywhere, is a terminal ApiError or a parse', async () => {
    const text = JSON.stringify(validFind());
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: text.length }), fc.string({ maxLength: 20 }), async (cut, tail) => {
        const outcome = await findWith(text.slice(0, cut) + tail);
        if ('value' in outcome) expectWellFormedList(outcome.value);
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ['create', (c: MacServiceClient) => c.create({ projectName: `makemac/${PUBLIC_HOST}`, image: IMAGE_14, profile: 'V1_MEDIUM_VM', accessLevel: 'GOLANG_OSS', durationSeconds: 86_400, metadata: [] })],
    ['renew', (c: MacServiceClient) => c.renew(LEASE_A, 82_800)],
    ['vacate', (c: MacServiceClient) => c.vacate(LEASE_A)],
  ] as const)('a garbage 200 to %s is terminal and of unknown outcome', async (verb, call) => {
    world.addLease({ leaseId: LEASE_A, projectName: `makemac/${PUBLIC_HOST}` });
    // Go's decoding is the bar: vacate takes any JSON object, renew any object without a bad expiry.
    const accepted: Record<typeof verb, string[]> = {
      create: [],
      renew: ['{"pendingLease":{"leaseId":""}}', `{"pendingLease":"${MARK}"}`],
      vacate: ['{"pendingLease":{"leaseId":""}}', '{"expires":"soon"}', `{"pendingLease":"${MARK}"}`],
    };
    for (const body of ['', 'null', '<html>oops</html>', '{"pendingLease":{"leaseId":""}}', '{"expires":"soon"}', '[]', `{"pendingLease":"${MARK}"}`]) {
      fake.inject(verb, { kind: 'garbage', body, times: 1 });
      const outcome = await settle<unknown>(call(client()));
      expect('value' in outcome, `${verb} ${body}`).toBe(accepted[verb].includes(body));
      if ('value' in outcome) continue;
      messages.push(outcome.error.message);
      expect(outcome.error.details).toMatchObject({ retryable: false, outcomeUnknown: true, status: 200 });
    }
  });

  it('reads a 200 whose Content-Type is wrong by its body, and refuses HTML or text bodies', async () => {
    const url = `${raw.url}/v1alpha1/`;
    raw.handler = (_req, _body, res) => answer(res, 200, JSON.stringify(validFind()), { 'Content-Type': 'text/html' });
    expect(await settle(client(url).find())).toMatchObject({ value: { leases: [{ leaseId: LEASE_A }, { leaseId: LEASE_B }] } });
    for (const [type, body] of [
      ['text/html; charset=UTF-8', `<html><body>Sign in to continue ${MARK}</body></html>`],
      ['text/plain', `upstream connect error ${MARK}`],
      ['application/octet-stream', Buffer.from([0x0a, 0x03, 0x66, 0x6f, 0x6f]).toString('latin1')],
    ]) {
      raw.handler = (_req, _body, res) => answer(res, 200, body!, { 'Content-Type': type! });
      const outcome = await settle(client(url).find());
      expect('error' in outcome && outcome.error.message).toMatch(new RegExp(`body is not JSON \\(\\d+ bytes, content-type ${type!.replace(/[+.;]/g, '.')}\\)`));
      if ('error' in outcome) messages.push(outcome.error.message);
    }
  });

  it('reports a body cut off mid-way as a retryable ApiError', async () => {
    raw.handler = (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '10000' });
      res.write(JSON.stringify(validFind()).slice(0, 100), () => res.destroy());
    };
    const outcome = await settle(client(`${raw.url}/v1alpha1/`).find());
    expect('error' in outcome && outcome.error.details).toMatchObject({ retryable: true });
    if ('error' in outcome) messages.push(outcome.error.message);
  });

  it('fails the read when the page token repeats forever, after two pages', async () => {
    fake.inject('find', { kind: 'garbage', body: JSON.stringify({ ...validFind(), nextPageToken: 'again' }) });
    const outcome = await settle(client().find());
    expect('error' in outcome && outcome.error.message).toMatch(/pagination did not end after 2 page/);
    expect('error' in outcome && outcome.error.details.retryable).toBe(false);
  });

  it('fails the read when fresh page tokens never end, after a bounded number of pages', async () => {
    let page = 0;
    raw.bodies.length = 0;
    raw.handler = (_req, _body, res) => answer(res, 200, JSON.stringify({ instances: [], nextPageToken: `t${++page}` }));
    const outcome = await settle(client(`${raw.url}/v1alpha1/`).find());
    expect('error' in outcome && outcome.error.message).toMatch(/pagination did not end after 100 page/);
    expect(raw.bodies).toHaveLength(100);
  });

  it('refuses a find answer larger than its cap without reading all of it', async () => {
    let sent = 0;
    raw.handler = async (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      // Endless unless the client hangs up; 80 MiB is the test's own bound.
      while (!res.destroyed && sent < 80 << 20) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          // Whichever comes first; the other listener goes too, or they pile up on the response.
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done).off('close', done);
              resolve();
            };
            res.once('drain', done).once('close', done);
          });
        }
      }
      res.end();
    };
    const capped = new MacServiceClient({ url: `${raw.url}/v1alpha1/`, apiKey: async () => API_KEY, customer: 'golang', timeoutMs: 10_000, maxFindResponseBytes: 16 << 20 });
    const outcome = await settle(capped.find());
    expect('error' in outcome && outcome.error.message).toBe(`macservice leases:find: response larger than ${16 << 20} bytes refused`);
    expect('error' in outcome && outcome.error.details.retryable).toBe(false);
    expect(sent).toBeLessThan(80 << 20);
  });
});

// ---- postJson's size cap --------------------------------------------------------------------------

describe('postJson with a small response cap', () => {
  let raw: RawServer;
  beforeAll(async () => {
    raw = await startRawServer((_req, _body, res) => answer(res, 200, ''));
  });
  afterAll(() => raw.close());
  const post = () => postJson(raw.url, { endpoint: 'test call', headers: {}, body: '{}', timeoutMs: 2_000, maxResponseBytes: 1_000 });

  it('takes a body of exactly the cap', async () => {
    raw.handler = (_req, _body, res) => answer(res, 200, 'x'.repeat(1_000));
    expect((await post()).body).toHaveLength(1_000);
  });

  it('refuses a body whose declared length is over the cap, before reading it', async () => {
    raw.handler = (_req, _body, res) => answer(res, 200, 'x'.repeat(1_001), { 'Content-Length': '1001' });
    const outcome = await settle(post());
    expect('error' in outcome && outcome.error.message).toBe('test call: response larger than 1000 bytes refused');
    expect('error' in outcome && outcome.error.details).toMatchObject({ retryable: false, status: 200 });
  });

  it('refuses a chunked body once it grows over the cap', async () => {
    raw.handler = async (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (let i = 0; i < 20 && !res.destroyed; i++) {
        res.write('y'.repeat(100));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      res.end();
    };
    const outcome = await settle(post());
    expect('error' in outcome && outcome.error.message).toBe('test call: response larger than 1000 bytes refused');
  });

  it('counts bytes, not characters', async () => {
    raw.handler = (_req, _body, res) => answer(res, 200, 'é'.repeat(600));
    expect('error' in (await settle(post()))).toBe(true);
  });
});

// ---- Swarming through the real client -------------------------------------------------------------

describe('Swarming answers, through the real client', () => {
  let world: World;
  let fake: SwarmingFake;
  let raw: RawServer;
  const client = (url = fake.url) => new SwarmingClient({ host: PUBLIC_HOST, url, pool: POOL, timeoutMs: 2_000 });
  const ok = (body: string) => `${XSSI_PREFIX}${body}`;

  beforeAll(async () => {
    world = new World();
    fake = await startSwarmingFake({ world, host: PUBLIC_HOST });
    raw = await startRawServer((_req, _body, res) => answer(res, 500, ''));
  });
  afterEach(() => fake.clearFaults());
  afterAll(async () => {
    await Promise.all([fake.close(), raw.close()]);
  });

  async function listWith(body: string) {
    fake.inject({ kind: 'garbage', body, times: 1 });
    const outcome = await settle(client().listBots());
    if ('error' in outcome) expect(outcome.error.message.length).toBeLessThan(800);
    return outcome;
  }

  const BAD_PAGES: [string, string][] = [
    ['empty body', ''],
    ['XSSI prefix only', XSSI_PREFIX],
    ['null', ok('null')],
    ['an array', ok('[]')],
    ['truncated JSON', ok('{"items":[{"botId":"a"')],
    ['an HTML page', '<html><body><h1>Error</h1></body></html>'],
    ['a bot without an id', ok('{"items":[{"isDead":true}]}')],
    ['a bot with an empty id', ok('{"items":[{"botId":""}]}')],
    ['a bot id that is a number', ok('{"items":[{"botId":7}]}')],
    ['items not a list', ok('{"items":{"botId":"a"}}')],
    ['a null bot', ok('{"items":[null]}')],
    ['isDead as a string', ok('{"items":[{"botId":"a","isDead":"true"}]}')],
    ['taskId as a number', ok('{"items":[{"botId":"a","taskId":123}]}')],
    ['a field under both its names', ok('{"items":[{"botId":"a","bot_id":"b"}]}')],
    ['lastSeenTs not a timestamp', ok('{"items":[{"botId":"a","lastSeenTs":"yesterday"}]}')],
    ['lastSeenTs on 30 February', ok('{"items":[{"botId":"a","lastSeenTs":"2026-02-30T00:00:00Z"}]}')],
    ['a numeric cursor', ok('{"cursor":5,"items":[]}')],
    ['deathTimeout a fraction', ok('{"deathTimeout":1.5}')],
  ];

  it.each(BAD_PAGES)('refuses %s as a terminal ApiError', async (_name, body) => {
    const outcome = await listWith(body);
    expect('error' in outcome).toBe(true);
    if ('error' in outcome) expect(outcome.error.details).toMatchObject({ endpoint: `swarming ${PUBLIC_HOST} ListBots`, retryable: false, outcomeUnknown: false });
  });

  it('reads missing fields as defaults, skips unknown ones, and takes snake_case names', async () => {
    expect(await listWith(ok('{}'))).toEqual({ value: [] });
    expect(await listWith(ok('{"items":null,"cursor":null}'))).toEqual({ value: [] });
    expect(await listWith('{"items":[{"botId":"no-prefix"}]}')).toMatchObject({ value: [{ botId: 'no-prefix' }] });
    const outcome = await listWith(
      ok('{"items":[{"bot_id":"a","is_dead":true,"last_seen_ts":"2026-08-02T10:00:00.123456789+01:00","dimensions":[{"key":"os","value":["Mac"]}],"state":"{}","novel":{"x":[1]}}],"future":1}'),
    );
    expect(outcome).toEqual({
      value: [{ botId: 'a', isDead: true, quarantined: false, inMaintenance: false, taskId: null, firstSeenAt: null, lastSeenAt: Date.parse('2026-08-02T09:00:00.123Z') }],
    });
  });

  it('reads every timestamp width in lastSeenTs', async () => {
    for (let digits = 0; digits <= 9; digits++) {
      const stamp = `2026-08-02T10:00:00${digits ? `.${'555555555'.slice(0, digits)}` : ''}Z`;
      const outcome = await listWith(ok(JSON.stringify({ items: [{ botId: 'a', lastSeenTs: stamp }] })));
      expect(outcome, stamp).toMatchObject({ value: [{ lastSeenAt: Date.parse('2026-08-02T10:00:00Z') + Number('555'.slice(0, digits).padEnd(3, '0')) }] });
    }
  });

  it('reads a page of 10,000 bots and ids of a megabyte', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ botId: `darwin-${i}`, taskId: i % 2 ? 't' : undefined }));
    const outcome = await listWith(ok(JSON.stringify({ items })));
    expect('value' in outcome && outcome.value.length).toBe(10_000);
    const long = 'b'.repeat(1 << 20);
    expect(await listWith(ok(JSON.stringify({ items: [{ botId: long }] })))).toMatchObject({ value: [{ botId: long }] });
  });

  it('fuzzed: any JSON page is a list of well-formed bots or a terminal ApiError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), async (value, asItem) => {
        const outcome = await listWith(ok(JSON.stringify(asItem ? { items: [value] } : value)));
        if ('value' in outcome) expectWellFormedBots(outcome.value);
        else expect(outcome.error.details.retryable).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('fuzzed: a valid page cut anywhere is a parse or a terminal ApiError', async () => {
    const text = ok(JSON.stringify({ items: [{ botId: 'a', isDead: true, lastSeenTs: '2026-08-02T10:00:00Z' }, { botId: 'b', taskId: 't' }], cursor: '' }));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: text.length }), fc.string({ maxLength: 10 }), async (cut, tail) => {
        const outcome = await listWith(text.slice(0, cut) + tail);
        if ('value' in outcome) expectWellFormedBots(outcome.value);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses an OK code with a Content-Type that is not JSON, and HTML from a front end', async () => {
    const body = ok('{"items":[{"botId":"a"}]}');
    const cases: [number, Record<string, string>, string, boolean | 'value'][] = [
      [200, { 'X-Prpc-Grpc-Code': '0', 'Content-Type': 'text/html' }, body, false],
      [200, { 'X-Prpc-Grpc-Code': '0', 'Content-Type': 'application/prpc; encoding=binary' }, body, false],
      [200, { 'X-Prpc-Grpc-Code': '0' }, body, false],
      [200, { 'X-Prpc-Grpc-Code': '0', 'Content-Type': 'application/prpc; encoding=json' }, body, 'value'],
      [200, { 'X-Prpc-Grpc-Code': '0', 'Content-Type': 'application/json; charset=utf-8' }, body, 'value'],
      [200, { 'X-Prpc-Grpc-Code': 'zero', 'Content-Type': 'application/json' }, body, true],
      [200, { 'Content-Type': 'text/html' }, '<html><body>Please sign in</body></html>', false],
      [502, { 'Content-Type': 'text/html' }, '<html><style>p{}</style><body><p>502. That&#39;s an error.</p></body></html>', true],
      [404, { 'Content-Type': 'text/html' }, '<html>Not Found</html>', false],
      [200, { 'X-Prpc-Grpc-Code': '13', 'Content-Type': 'text/plain' }, 'Internal server error', true],
    ];
    for (const [status, headers, text, expected] of cases) {
      raw.handler = (_req, _body, res) => answer(res, status, text, headers);
      const outcome = await settle(client(raw.url).listBots());
      if (expected === 'value') {
        expect(outcome, JSON.stringify(headers)).toEqual({ value: [expect.objectContaining({ botId: 'a' })] });
      } else {
        expect('error' in outcome && outcome.error.details.retryable, `${status} ${JSON.stringify(headers)}`).toBe(expected);
        if ('error' in outcome) expect(outcome.error.message).not.toMatch(/<[a-z]/);
      }
    }
  });

  it('fails the read when the cursor repeats forever (the fake rewinds to page one)', async () => {
    for (let i = 0; i < 3; i++) world.addBot(PUBLIC_HOST, { botId: `darwin-${i}`, dimensions: [{ key: 'pool', value: [POOL] }, { key: 'os', value: ['Mac'] }] });
    fake.pageSize = 1;
    fake.inject({ kind: 'repeat-cursor' });
    try {
      const before = fake.requests.length;
      const outcome = await settle(client().listBots());
      expect('error' in outcome && outcome.error.message).toMatch(/repeated an earlier cursor/);
      expect(fake.requests.length - before).toBe(2);
    } finally {
      fake.pageSize = undefined;
      world.bots.clear();
    }
  });

  it('fails the read when fresh cursors never end, after its page bound', async () => {
    let page = 0;
    raw.bodies.length = 0;
    raw.handler = (_req, _body, res) =>
      answer(res, 200, ok(JSON.stringify({ cursor: `c${++page}`, items: [{ botId: `bot-${page}` }] })), { 'X-Prpc-Grpc-Code': '0', 'Content-Type': 'application/json' });
    const outcome = await settle(client(raw.url).listBots());
    expect('error' in outcome && outcome.error.message).toMatch(/still more bots after 100 pages/);
    expect(raw.bodies).toHaveLength(100);
  });
});

// ---- Observation-level garbage in a whole pass: no mutation --------------------------------------

describe('a pass given garbage to observe', () => {
  let fleet: FakeFleet;
  beforeEach(async () => {
    fleet = await startFakeFleet();
    // A fleet with work to do, so that any mis-read would show as a mutation: one dead lease,
    // one missing lease, a deficit in the security group, and an expiring lease.
    fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: Date.now() - 5 * HOUR });
    fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR);
  });
  afterEach(() => fleet.close());

  it.each(BAD_FIND_BODIES_FOR_PASS())('%s from leases:find: the pass fails its observation and mutates nothing', async (_name, body) => {
    fleet.macService.inject('find', { kind: 'garbage', body });
    const result = await runFleetPass(fleet);
    expect(mutationsOf(fleet)).toEqual([]);
    expect(result.summary.failures).toEqual(['observation']);
    expect(result.entries.find((e) => e.fields.event === 'observe.error')?.severity).toBe('ERROR');
  });

  it('a lease listed twice by leases:find is observed once and acted on once', async () => {
    // The converged fleet, with every instance repeated: nothing to do.
    await fleet.close();
    fleet = await startFakeFleet();
    fleet.seedConvergedFleet();
    const real = await findAnswer(fleet);
    serveFind(fleet, [...real.instances, ...real.instances]);
    const result = await runFleetPass(fleet);
    expect(result.summary.observed?.leases).toBe(6);
    expect(result.plan?.verdicts).toHaveLength(6);
    expect(result.summary.outcome).toBe('ok');
    expect(mutationsOf(fleet)).toEqual([]);
  });

  it.each([
    ['a bot without an id', { kind: 'garbage' as const, body: `${XSSI_PREFIX}{"items":[{"isDead":true}]}` }],
    ['a cursor that repeats forever', { kind: 'repeat-cursor' as const }],
    ['an HTML page with OK headers', { kind: 'garbage' as const, body: '<html>maintenance</html>' }],
    ['an empty bot list', { kind: 'empty' as const }],
  ])('%s from Swarming: that host is blind, none of its leases is vacated, renewals go on', async (_name, fault) => {
    fleet.publicSwarming.pageSize = 1;
    fleet.publicSwarming.inject(fault);
    const result = await runFleetPass(fleet);
    expect(result.summary.blindHosts.map((h) => h.host)).toEqual([PUBLIC_HOST]);
    expect(result.summary.failures).toContain('blind-host');
    expect(requestsOf(fleet, 'vacate')).toEqual([]);
    // The expiring lease is renewed anyway; deficits (counted from MacService alone) are still filled.
    expect(requestsOf(fleet, 'renew')).toHaveLength(1);
    const created = requestsOf(fleet, 'create').map((r) => `${r.body.vmResourceNamespace.projectName} ${r.body.instanceSpecification.metadata[1].value}`);
    expect(created.sort()).toEqual([`makemac/${SECURITY_HOST} darwin-amd64-14-security`, `makemac/${PUBLIC_HOST} darwin-arm64-15`, `makemac/${PUBLIC_HOST} darwin-arm64-15`]);
  });
});

/** The MacService corpus entries that are invalid as a whole (all of BAD_FIND_BODIES, sampled). */
function BAD_FIND_BODIES_FOR_PASS(): [string, string][] {
  return [
    ['an empty body', ''],
    ['an HTML error page', '<html><body>502 Bad Gateway</body></html>'],
    ['truncated JSON', JSON.stringify(validFind()).slice(0, 150)],
    ['instances that are not a list', JSON.stringify({ instances: { [LEASE_A]: instance(LEASE_A) } })],
    ['an array', JSON.stringify(validFind().instances)],
    ['a repeating page token', JSON.stringify({ ...validFind(), nextPageToken: 'again' })],
  ];
}
