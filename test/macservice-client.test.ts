// The real MacService client against the fake over loopback: what goes on the wire, what
// comes back, and that no failure ever shows the API key or a lease's metadata secrets.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, CallCounter } from '../shared/http';
import { MacServiceClient } from '../shared/macservice/client';
import { startMacServiceFake, type MacServiceFake } from '../shared/sim/macservice-fake';
import { World } from '../shared/sim/world';

const API_KEY = 'AIzaSy-test-key-0123456789';
const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----SEKRET';
const CERT = 'CERT-SEKRET-value';
const NOW = Date.parse('2026-08-02T10:00:00Z');
const IMAGE = 'b16a8a5f2d1e383667c3764d915551f4af56d63edd0679539703688a6b9f6754';

let world: World;
let now: number;
let fake: MacServiceFake;
let calls: CallCounter;
let keyReads: number;
/** Every error message any test saw; checked for secrets once all tests ran. */
const messages: string[] = [];

function client(timeoutMs = 2_000): MacServiceClient {
  return new MacServiceClient({
    url: fake.url,
    apiKey: async () => {
      keyReads++;
      return API_KEY;
    },
    customer: 'golang',
    timeoutMs,
    calls,
  });
}

/** The ApiError a call fails with. */
async function failure(call: Promise<unknown>): Promise<ApiError> {
  const error = await call.then(
    () => expect.fail('expected the call to fail'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApiError);
  messages.push((error as ApiError).message);
  return error as ApiError;
}

beforeEach(async () => {
  now = NOW;
  world = new World({ now: () => now });
  world.addLease({
    leaseId: '39b47cf6-2aaa-4c80-b9cb-b800844fb104',
    projectName: 'makemac/chromium-swarm.appspot.com',
    image: IMAGE,
    expiresAt: NOW + 3_600_000,
    metadata: [
      { key: 'golang.hostname', value: 'darwin-amd64-14' },
      { key: 'golang.cert', value: CERT },
      { key: 'golang.key', value: PRIVATE_KEY },
    ],
  });
  fake = await startMacServiceFake({ world, apiKey: API_KEY });
  calls = new CallCounter();
  keyReads = 0;
});
afterEach(() => fake.close());
afterAll(() => {
  expect(messages.length).toBeGreaterThan(15);
  for (const message of messages) {
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain('SEKRET');
  }
});

describe('MacServiceClient.find', () => {
  it('sends the Go makemac request and returns every lease of the customer, each cut to what a pass reads', async () => {
    world.addLease({ leaseId: '11111111-2222-4333-8444-555555555555', projectName: 'hand-made', expiresAt: Date.parse('2026-08-10T00:00:00Z'), image: IMAGE });
    const { leases, malformed, skipped } = await client().find();
    expect(leases).toEqual([
      {
        leaseId: '39b47cf6-2aaa-4c80-b9cb-b800844fb104',
        customerName: 'golang',
        projectName: 'makemac/chromium-swarm.appspot.com',
        expiresAt: NOW + 3_600_000,
        image: IMAGE,
        // The bot cert and key are dropped as the lease is read: never kept, so never leaked.
        metadata: { 'golang.hostname': 'darwin-amd64-14' },
      },
      // Another project's lease: only its id and tag.
      {
        leaseId: '11111111-2222-4333-8444-555555555555',
        customerName: 'golang',
        projectName: 'hand-made',
        expiresAt: null,
        image: '',
        metadata: {},
      },
    ]);
    expect([malformed, skipped]).toEqual([[], 0]);
    const [request] = fake.requests;
    expect(request!.rawBody).toBe('{"vmResourceNamespace":{"customerName":"golang","projectName":"","subCustomerName":""}}\n');
    expect(request!.headers['x-goog-api-key']).toBe(API_KEY);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(calls.counts).toEqual({ 'macservice.find': 1 });
  });

  it('asks for one project when given one, and leaves out unread the leases it is told are known', async () => {
    world.addLease({ leaseId: '11111111-2222-4333-8444-555555555555', projectName: 'makemac/chromium-swarm.appspot.com', image: IMAGE });
    const { leases } = await client().find({ projectName: 'makemac/chromium-swarm.appspot.com', except: new Set(['39b47cf6-2aaa-4c80-b9cb-b800844fb104']) });
    expect(leases.map((l) => l.leaseId)).toEqual(['11111111-2222-4333-8444-555555555555']);
    expect(fake.requests[0]!.body.vmResourceNamespace.projectName).toBe('makemac/chromium-swarm.appspot.com');
  });

  it('reads no API key until a call is made', async () => {
    const c = client();
    expect(keyReads).toBe(0);
    await c.find();
    expect(keyReads).toBe(1);
  });

  it('returns [] when MacService omits instances', async () => {
    world.leases.clear();
    await expect(client().find()).resolves.toEqual({ leases: [], malformed: [], skipped: 0 });
  });

  it('takes an absent or null expires as Go zero time (null) and defaults absent fields', async () => {
    fake.inject('find', {
      kind: 'garbage',
      body: JSON.stringify({
        instances: [
          { lease: { leaseId: 'a', vmResourceNamespace: { customerName: 'golang' } }, extra: { nested: true } },
          { lease: { leaseId: 'b', vmResourceNamespace: { customerName: 'golang', projectName: null }, expires: null }, instanceSpecification: null },
        ],
        unknownTopLevel: 1,
      }),
    });
    const { leases } = await client().find();
    expect(leases.map((l) => [l.leaseId, l.projectName, l.expiresAt, l.image])).toEqual([
      ['a', '', null, ''],
      ['b', '', null, ''],
    ]);
  });

  it.each([
    ['an empty expires', ''],
    ['an unparsable expires', '2026-08-02 10:00:00'],
    ['an impossible date', '2026-02-30T10:00:00Z'],
  ])('sets a managed lease with %s apart as malformed, naming the field, not the metadata', async (_, expires) => {
    const body = (await (await rawFind()).text()).replace(/"expires":"[^"]*"/, `"expires":${JSON.stringify(expires)}`);
    fake.inject('find', { kind: 'garbage', body });
    const { leases, malformed } = await client().find();
    expect(leases).toEqual([]);
    expect(malformed).toEqual([
      {
        leaseId: '39b47cf6-2aaa-4c80-b9cb-b800844fb104',
        projectName: 'makemac/chromium-swarm.appspot.com',
        expiresAt: null,
        problem: 'lease.expires: not an RFC 3339 timestamp',
      },
    ]);
  });

  it('skips, and counts, leases of other projects that do not parse, and reads the rest', async () => {
    world.addLease({ leaseId: '11111111-2222-4333-8444-555555555555', projectName: 'hand-made', expiresAt: NOW });
    const good = JSON.parse(await (await rawFind()).text());
    const odd = [
      { lease: { leaseId: 'x', expires: 'tomorrow' } },
      { lease: { leaseId: 7, vmResourceNamespace: { customerName: 'golang', projectName: 'other' } } },
      { lease: { leaseId: 'y', vmResourceNamespace: { customerName: 'golang', projectName: 'other' }, expires: 'tomorrow' } },
      'not an object',
      null,
    ];
    fake.inject('find', { kind: 'garbage', body: JSON.stringify({ instances: [odd[0], ...good.instances, ...odd.slice(1)] }) });
    const { leases, malformed, skipped } = await client().find();
    // Another project's odd expiry is never read: its id and tag are all makemac keeps of it.
    expect(leases.map((l) => l.leaseId)).toEqual(['39b47cf6-2aaa-4c80-b9cb-b800844fb104', '11111111-2222-4333-8444-555555555555', 'y']);
    expect(malformed).toEqual([]);
    expect(skipped).toBe(4);
  });

  it.each([
    ['a root that is not an object', '[{"lease":{}}]', '(root): expected an object'],
    ['instances that are not an array', '{"instances":{"a":{"lease":{}}}}', 'instances: expected an array'],
    ['instances that are a number', '{"instances":5}', 'instances: expected an array'],
    ['a page token that is not a string', '{"instances":[],"nextPageToken":5}', 'nextPageToken: expected a string'],
  ])('fails the whole response on %s', async (_, body, problem) => {
    fake.inject('find', { kind: 'garbage', body });
    const error = await failure(client().find());
    expect(error.message).toBe(`macservice leases:find: invalid 200 response: ${problem}`);
    expect(error.details).toMatchObject({ endpoint: 'macservice leases:find', status: 200, retryable: false });
  });

  it('follows nextPageToken and refuses a repeating one', async () => {
    const firstPage = JSON.stringify({ instances: [{ lease: { leaseId: 'page-1', vmResourceNamespace: { customerName: 'golang' } } }], nextPageToken: 'p2' });
    fake.inject('find', { kind: 'garbage', body: firstPage, times: 1 });
    const { leases } = await client().find();
    expect(leases.map((l) => l.leaseId)).toEqual(['page-1', '39b47cf6-2aaa-4c80-b9cb-b800844fb104']);
    expect(fake.requests[1]!.body).toEqual({
      vmResourceNamespace: { customerName: 'golang', projectName: '', subCustomerName: '' },
      pageToken: 'p2',
    });

    fake.inject('find', { kind: 'garbage', body: firstPage });
    const error = await failure(client().find());
    expect(error.message).toBe('macservice leases:find: pagination did not end after 2 page(s)');
  });

  it.each([
    ['truncated JSON cut inside the private key', async () => (await (await rawFind()).text()).replace(/SEKRET[\s\S]*$/, 'SEKRET')],
    ['an HTML page', async () => '<html><body>Service temporarily unavailable</body></html>'],
    ['an empty body', async () => ''],
  ])('fails on %s with HTTP 200 without quoting the body', async (_, makeBody) => {
    fake.inject('find', { kind: 'garbage', body: await makeBody() });
    const error = await failure(client().find());
    expect(error.message).toMatch(/^macservice leases:find: invalid 200 response: body is not JSON \(\d+ bytes, content-type /);
    expect(error.details).toMatchObject({ status: 200, retryable: false, outcomeUnknown: true });
  });

  it('names what failed validation of a managed lease by path, without the values around it', async () => {
    const body = (await (await rawFind()).text()).replace('"leaseId":"39b47cf6-2aaa-4c80-b9cb-b800844fb104"', '"leaseId":42');
    fake.inject('find', { kind: 'garbage', body });
    const { malformed } = await client().find();
    expect(malformed.map((m) => [m.leaseId, m.problem])).toEqual([['', 'lease.leaseId: Invalid input: expected string, received number']]);
  });
});

describe('MacServiceClient.create', () => {
  it('sends namespace, specification, ordered metadata and "86400s", and returns the new lease', async () => {
    const request = createRequest();
    const created = await client().create(request);
    expect(fake.requests[0]!.rawBody).toBe(
      `${JSON.stringify({
        vmResourceNamespace: { customerName: 'golang', projectName: 'makemac/chromium-swarm.appspot.com', subCustomerName: '' },
        instanceSpecification: {
          profile: 'V1_MEDIUM_VM',
          accessLevel: 'GOLANG_OSS',
          metadata: [
            { key: 'golang.swarming', value: 'chromium-swarm.appspot.com' },
            { key: 'golang.hostname', value: 'darwin-amd64-14' },
            { key: 'golang.cert', value: CERT },
            { key: 'golang.key', value: PRIVATE_KEY },
            { key: 'makemac.created', value: '2026-08-02T10:00:00Z' },
          ],
          diskSelection: { imageHashes: { bootSha256: IMAGE } },
        },
        duration: '86400s',
      })}\n`,
    );
    expect(created).toEqual({ leaseId: expect.stringMatching(/^[0-9a-f-]{36}$/), expiresAt: NOW + 86_400_000 });
    expect(world.leases.get(created.leaseId)!.metadata).toEqual(request.metadata);
    expect(calls.counts).toEqual({ 'macservice.create': 1 });
  });

  it('reports a dropped connection after the create as outcome unknown', async () => {
    fake.inject('create', { kind: 'drop-after-apply' });
    const error = await failure(client().create(createRequest()));
    expect(error.details).toMatchObject({ endpoint: 'macservice leases:create', retryable: true, outcomeUnknown: true });
    expect(world.leases.size).toBe(2);
  });

  it('requires a lease id in the pending lease', async () => {
    fake.inject('create', { kind: 'garbage', body: '{"pendingLease":{"expires":"2026-08-03T10:00:00Z"}}' });
    const error = await failure(client().create(createRequest()));
    expect(error.message).toBe('macservice leases:create: invalid 200 response: pendingLease.leaseId: Invalid input: expected string, received undefined');
  });
});

describe('MacServiceClient.renew and vacate', () => {
  it('renews with "82800s" and returns the new expiry', async () => {
    now = NOW + 1_000;
    await expect(client().renew('39b47cf6-2aaa-4c80-b9cb-b800844fb104', 82_800)).resolves.toEqual({ expiresAt: now + 82_800_000 });
    expect(fake.requests[0]!.rawBody).toBe('{"leaseId":"39b47cf6-2aaa-4c80-b9cb-b800844fb104","duration":"82800s"}\n');
  });

  it('takes a renew answer without expires as Go zero time', async () => {
    fake.inject('renew', { kind: 'garbage', body: '{}' });
    await expect(client().renew('39b47cf6-2aaa-4c80-b9cb-b800844fb104', 82_800)).resolves.toEqual({ expiresAt: null });
  });

  it('vacates with the lease id and removes the lease', async () => {
    await client().vacate('39b47cf6-2aaa-4c80-b9cb-b800844fb104');
    expect(fake.requests[0]!.rawBody).toBe('{"leaseId":"39b47cf6-2aaa-4c80-b9cb-b800844fb104"}\n');
    expect(world.leases.size).toBe(0);
    expect(calls.counts).toEqual({ 'macservice.vacate': 1 });
  });

  it('fails a vacate whose 200 answer is empty, as the Go client did', async () => {
    fake.inject('vacate', { kind: 'garbage', body: '' });
    const error = await failure(client().vacate('39b47cf6-2aaa-4c80-b9cb-b800844fb104'));
    expect(error.message).toContain('macservice leases:vacate: invalid 200 response (lease 39b47cf6-2aaa-4c80-b9cb-b800844fb104): body is not JSON');
  });

  it('names the lease in a 404', async () => {
    const error = await failure(client().renew('00000000-0000-4000-8000-000000000000', 82_800));
    expect(error.message).toMatch(/^macservice leases:renew: HTTP 404 \(lease 00000000-0000-4000-8000-000000000000\): \{"error":/);
    expect(error.details).toMatchObject({ endpoint: 'macservice leases:renew', status: 404, retryable: false, outcomeUnknown: false });
  });
});

describe('MacServiceClient errors', () => {
  it('answers a wrong API key with a terminal 403 that does not show the key', async () => {
    const wrong = new MacServiceClient({ url: fake.url, apiKey: async () => 'wrong-key', customer: 'golang', timeoutMs: 2_000 });
    const error = await failure(wrong.find());
    expect(error.details).toMatchObject({ status: 403, retryable: false });
    expect(error.message).toContain('PERMISSION_DENIED');
  });

  it.each([
    [429, '7', { retryable: true, outcomeUnknown: false, retryAfterSeconds: 7 }],
    [500, undefined, { retryable: true, outcomeUnknown: true }],
    [503, '2', { retryable: true, outcomeUnknown: false, retryAfterSeconds: 2 }],
    [400, undefined, { retryable: false, outcomeUnknown: false }],
  ] as const)('classifies HTTP %i', async (status, retryAfter, expected) => {
    fake.inject('create', { kind: 'status', status, retryAfter });
    const error = await failure(client().create(createRequest()));
    expect(error.details).toMatchObject({ endpoint: 'macservice leases:create', status, ...expected });
    expect(error.message).toMatch(new RegExp(`^macservice leases:create: HTTP ${status}: \\{"error":`));
  });

  it('keeps PEM blocks and the API key out of an error body that echoes them', async () => {
    const echo = JSON.stringify({ error: { message: `bad request: key=${API_KEY} metadata golang.key=${PRIVATE_KEY}\nmore` } });
    fake.inject('find', { kind: 'status', status: 400, body: echo });
    const error = await failure(client().find());
    expect(error.message).toContain('[secret]');
    expect(error.message).toContain('[PEM redacted]');
  });

  it('gives up on a slow answer with a retryable timeout', async () => {
    fake.inject('find', { kind: 'delay', ms: 1_000 });
    const error = await failure(client(100).find());
    expect(error.message).toBe('macservice leases:find: no response within 100ms');
    expect(error.details).toMatchObject({ retryable: true, outcomeUnknown: true });
  });

  it('reports a refused connection as retryable and not applied', async () => {
    const c = client();
    await fake.close();
    const error = await failure(c.vacate('39b47cf6-2aaa-4c80-b9cb-b800844fb104'));
    expect(error.message).toMatch(/\(lease 39b47cf6-2aaa-4c80-b9cb-b800844fb104\)$/);
    expect(error.details).toMatchObject({ retryable: true, outcomeUnknown: false });
    fake = await startMacServiceFake({ world, apiKey: API_KEY });
  });
});

function createRequest() {
  return {
    projectName: 'makemac/chromium-swarm.appspot.com',
    image: IMAGE,
    profile: 'V1_MEDIUM_VM',
    accessLevel: 'GOLANG_OSS',
    durationSeconds: 86_400,
    metadata: [
      { key: 'golang.swarming', value: 'chromium-swarm.appspot.com' },
      { key: 'golang.hostname', value: 'darwin-amd64-14' },
      { key: 'golang.cert', value: CERT },
      { key: 'golang.key', value: PRIVATE_KEY },
      { key: 'makemac.created', value: '2026-08-02T10:00:00Z' },
    ],
  };
}

/** The fake's real find answer, which echoes the seeded metadata secrets. */
function rawFind(): Promise<Response> {
  return fetch(`${fake.url}leases:find`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-goog-api-key': API_KEY },
    body: '{"vmResourceNamespace":{"customerName":"golang"}}',
  });
}
