// The fake MacService against the wire reference's own examples (shared/macservice/wire-notes.md §6), over raw fetch,
// so the fake cannot drift into an impression of the API that only our client agrees with.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMacServiceFake, type MacServiceFake } from '../shared/sim/macservice-fake';
import { World, type WorldLease } from '../shared/sim/world';

const API_KEY = 'test-api-key';
const NOW = Date.parse('2026-08-02T10:00:00Z');

// Verbatim from the wire reference shared/macservice/wire-notes.md condenses (§6.3, §6.6).
const SPEC_CREATE =
  '{"vmResourceNamespace":{"customerName":"golang","projectName":"makemac/chromium-swarm.appspot.com","subCustomerName":""},"instanceSpecification":{"profile":"V1_MEDIUM_VM","accessLevel":"GOLANG_OSS","metadata":[{"key":"golang.swarming","value":"chromium-swarm.appspot.com"},{"key":"golang.hostname","value":"darwin-arm64-15"},{"key":"golang.cert","value":"-----BEGIN CERTIFICATE-----\\nMIIB...\\n-----END CERTIFICATE-----\\n"},{"key":"golang.key","value":"-----BEGIN PRIVATE KEY-----\\nMIIE...\\n-----END PRIVATE KEY-----\\n"}],"diskSelection":{"imageHashes":{"bootSha256":"0000000000000000000000000000000000000000000000000000000000000000"}}},"duration":"86400s"}';
const SPEC_FIND = '{"vmResourceNamespace":{"customerName":"golang","projectName":"","subCustomerName":""}}';

let world: World;
let now: number;
let fake: MacServiceFake;

beforeEach(async () => {
  now = NOW;
  world = new World({ now: () => now });
  fake = await startMacServiceFake({ world, apiKey: API_KEY });
});
afterEach(() => fake.close());

function post(verb: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${fake.url}leases:${verb}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-goog-api-key': API_KEY, ...headers },
    body,
  });
}

async function json(response: Response): Promise<unknown> {
  return JSON.parse(await response.text());
}

function seed(lease: Partial<WorldLease> & { leaseId: string }): WorldLease {
  return world.addLease(lease);
}

describe('MacService fake: leases:create', () => {
  it('answers the spec example with a pending lease: lowercase UUID, namespace, expiry now + duration', async () => {
    const created: WorldLease[] = [];
    fake.onCreate = (lease) => created.push(lease);
    const response = await post('create', SPEC_CREATE);
    expect(response.status).toBe(200);
    const body = (await json(response)) as { pendingLease: { leaseId: string } };
    expect(body).toEqual({
      pendingLease: {
        leaseId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        vmResourceNamespace: { customerName: 'golang', projectName: 'makemac/chromium-swarm.appspot.com' },
        expires: '2026-08-03T10:00:00Z',
      },
    });
    const stored = world.leases.get(body.pendingLease.leaseId)!;
    expect(stored).toMatchObject({
      projectName: 'makemac/chromium-swarm.appspot.com',
      image: '0'.repeat(64),
      profile: 'V1_MEDIUM_VM',
      accessLevel: 'GOLANG_OSS',
      createdAt: NOW,
      expiresAt: NOW + 86_400_000,
    });
    expect(stored.metadata.map((e) => e.key)).toEqual(['golang.swarming', 'golang.hostname', 'golang.cert', 'golang.key']);
    expect(created).toEqual([stored]);
  });

  it('names new leases with the newLeaseId option when given one (the simulator seeds it)', async () => {
    await fake.close();
    fake = await startMacServiceFake({ world, apiKey: API_KEY, newLeaseId: () => '0badc0de-0000-4000-a000-000000000001' });
    const body = (await json(await post('create', SPEC_CREATE))) as { pendingLease: { leaseId: string } };
    expect(body.pendingLease.leaseId).toBe('0badc0de-0000-4000-a000-000000000001');
    expect([...world.leases.keys()]).toEqual(['0badc0de-0000-4000-a000-000000000001']);
  });

  it('accepts fractional durations and prints milliseconds as protojson does', async () => {
    const request = JSON.parse(SPEC_CREATE) as { duration: string };
    request.duration = '1.5s';
    const body = (await json(await post('create', JSON.stringify(request)))) as { pendingLease: { expires: string } };
    expect(body.pendingLease.expires).toBe('2026-08-02T10:00:01.500Z');
  });

  it('rejects an unknown request field, as Google APIs do (the deprecated osType)', async () => {
    const request = JSON.parse(SPEC_CREATE) as { instanceSpecification: Record<string, unknown> };
    request.instanceSpecification.osType = 'MAC';
    const response = await post('create', JSON.stringify(request));
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect(world.leases.size).toBe(0);
  });
});

describe('MacService fake: refuseUnknownMetadata', () => {
  it('refuses a create with a metadata key the images do not read, with 400 naming it, and creates nothing', async () => {
    await fake.close();
    fake = await startMacServiceFake({ world, apiKey: API_KEY, refuseUnknownMetadata: true });
    const stamped = JSON.parse(SPEC_CREATE);
    stamped.instanceSpecification.metadata.push({ key: 'makemac.created', value: '2026-08-02T10:00:00Z' });
    const refused = await post('create', JSON.stringify(stamped));
    expect(refused.status).toBe(400);
    expect(((await json(refused)) as any).error.message).toContain('unknown metadata key "makemac.created"');
    expect(world.leases.size).toBe(0);
    expect((await post('create', SPEC_CREATE)).status).toBe(200);
    expect(world.leases.size).toBe(1);
  });
});

describe('MacService fake: leases:find', () => {
  it('answers the spec example with every project of the customer, metadata included by default', async () => {
    seed({ leaseId: 'aaaa', projectName: 'makemac/chromium-swarm.appspot.com', image: '0'.repeat(64), metadata: [{ key: 'golang.hostname', value: 'darwin-arm64-15' }] });
    seed({ leaseId: 'bbbb', projectName: 'hand-made', image: '1'.repeat(64), expiresAt: Date.parse('2026-08-10T00:00:00Z') });
    seed({ leaseId: 'cccc', customerName: 'someone-else' });
    const response = await post('find', SPEC_FIND);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      instances: [
        {
          lease: { leaseId: 'aaaa', vmResourceNamespace: { customerName: 'golang', projectName: 'makemac/chromium-swarm.appspot.com' }, expires: '2026-08-03T10:00:00Z' },
          instanceSpecification: {
            profile: 'V1_MEDIUM_VM',
            accessLevel: 'GOLANG_OSS',
            metadata: [{ key: 'golang.hostname', value: 'darwin-arm64-15' }],
            diskSelection: { imageHashes: { bootSha256: '0'.repeat(64) } },
          },
        },
        {
          lease: { leaseId: 'bbbb', vmResourceNamespace: { customerName: 'golang', projectName: 'hand-made' }, expires: '2026-08-10T00:00:00Z' },
          instanceSpecification: { profile: 'V1_MEDIUM_VM', accessLevel: 'GOLANG_OSS', diskSelection: { imageHashes: { bootSha256: '1'.repeat(64) } } },
        },
      ],
    });
  });

  it('filters by projectName only when it is given', async () => {
    seed({ leaseId: 'aaaa', projectName: 'makemac/chromium-swarm.appspot.com' });
    seed({ leaseId: 'bbbb', projectName: 'hand-made' });
    const body = (await json(
      await post('find', '{"vmResourceNamespace":{"customerName":"golang","projectName":"hand-made","subCustomerName":""}}'),
    )) as { instances: { lease: { leaseId: string } }[] };
    expect(body.instances.map((i) => i.lease.leaseId)).toEqual(['bbbb']);
  });

  it('omits instances when there are none, as proto3 JSON omits empty lists', async () => {
    expect(await json(await post('find', SPEC_FIND))).toEqual({});
  });

  it('leaves metadata out when echoMetadata is off', async () => {
    await fake.close();
    fake = await startMacServiceFake({ world, apiKey: API_KEY, echoMetadata: false });
    seed({ leaseId: 'aaaa', metadata: [{ key: 'golang.key', value: 'secret' }] });
    const text = await (await post('find', SPEC_FIND)).text();
    expect(text).not.toContain('golang.key');
  });
});

describe('MacService fake: leases:renew and leases:vacate', () => {
  it('renews to now + duration, not old expiry + duration', async () => {
    seed({ leaseId: 'aaaa', expiresAt: NOW + 3_600_000 });
    now = NOW + 60_000;
    const response = await post('renew', '{"leaseId":"aaaa","duration":"82800s"}');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ expires: '2026-08-03T09:01:00Z' });
    expect(world.leases.get('aaaa')!.expiresAt).toBe(now + 82_800_000);
  });

  it('vacates with a JSON {} body and forgets the lease', async () => {
    seed({ leaseId: 'aaaa' });
    const response = await post('vacate', '{"leaseId":"aaaa"}');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{}');
    expect(world.leases.has('aaaa')).toBe(false);
  });

  it.each(['renew', 'vacate'])('answers 404 NOT_FOUND to %s of an unknown lease', async (verb) => {
    const response = await post(verb, verb === 'renew' ? '{"leaseId":"nope","duration":"82800s"}' : '{"leaseId":"nope"}');
    expect(response.status).toBe(404);
    expect(await json(response)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });
});

describe('MacService fake: request checks', () => {
  it('answers 403 PERMISSION_DENIED without the right API key', async () => {
    for (const headers of [{ 'x-goog-api-key': 'wrong' }, { 'x-goog-api-key': '' }]) {
      const response = await post('find', SPEC_FIND, headers);
      expect(response.status).toBe(403);
      expect(await json(response)).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    }
  });

  it('answers 400 to bad JSON, a non-JSON content type, or a missing field', async () => {
    expect((await post('find', '{"vmResourceNamespace":')).status).toBe(400);
    expect((await post('find', SPEC_FIND, { 'Content-Type': 'text/plain' })).status).toBe(400);
    expect((await post('renew', '{"leaseId":"aaaa"}')).status).toBe(400);
  });

  it('answers 404 to an unknown verb and records every request with its raw body', async () => {
    expect((await post('list', '{}')).status).toBe(404);
    await post('find', SPEC_FIND);
    expect(fake.requests.map((r) => r.verb)).toEqual(['/v1alpha1/leases:list', 'find']);
    expect(fake.requests[1]!.rawBody).toBe(SPEC_FIND);
    expect(fake.requests[1]!.headers['x-goog-api-key']).toBe(API_KEY);
  });
});

describe('MacService fake: fault injection', () => {
  it('answers an injected status with a Google error and Retry-After, for `times` requests', async () => {
    fake.inject('find', { kind: 'status', status: 429, retryAfter: '7', times: 1 });
    const first = await post('find', SPEC_FIND);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await json(first)).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect((await post('find', SPEC_FIND)).status).toBe(200);
  });

  it('applies a wildcard fault to every verb until cleared, with a custom body', async () => {
    fake.inject('*', { kind: 'status', status: 502, body: '<html>Bad Gateway</html>' });
    for (const verb of ['find', 'vacate']) {
      const response = await post(verb, '{}');
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(await response.text()).toBe('<html>Bad Gateway</html>');
    }
    fake.clearFaults();
    expect((await post('find', SPEC_FIND)).status).toBe(200);
  });

  it('sends garbage with HTTP 200 without applying the call', async () => {
    seed({ leaseId: 'aaaa' });
    fake.inject('vacate', { kind: 'garbage', body: '{"trunc', times: 1 });
    const response = await post('vacate', '{"leaseId":"aaaa"}');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"trunc');
    expect(world.leases.has('aaaa')).toBe(true);
  });

  it('delays the answer, then answers normally', async () => {
    fake.inject('find', { kind: 'delay', ms: 150, times: 1 });
    const started = Date.now();
    expect((await post('find', SPEC_FIND)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('applies the call and then drops the connection', async () => {
    fake.inject('create', { kind: 'drop-after-apply', times: 1 });
    await expect(post('create', SPEC_CREATE)).rejects.toThrow();
    expect(world.leases.size).toBe(1);
  });
});
