// The fake Swarming server against the wire notes (shared/swarming/wire-notes.md §2, §3): raw HTTP, so what is
// checked is the fake's own behaviour, not the client's reading of it.
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSwarmingFake, type SwarmingFake } from '../shared/sim/swarming-fake';
import { macBotDimensions, World } from '../shared/sim/world';

const HOST = 'chromium-swarm.appspot.com';
const POOL = 'luci.golang.shared-workers';
const NOW = Date.parse('2026-08-02T10:00:00.000Z');
const PATH = '/prpc/swarming.v2.Bots/ListBots';
const XSSI = ")]}'\n";
const MAC_FILTER = [
  { key: 'pool', value: POOL },
  { key: 'os', value: 'Mac' },
];
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

let world: World;
let fake: SwarmingFake;

beforeEach(async () => {
  world = new World({ now: () => NOW });
  // Added out of order: the server lists by bot id.
  world.addBot(HOST, { botId: 'mac-c', dimensions: macBotDimensions(POOL, '15.3', 'arm64'), taskId: 'task-1', taskName: 'build' });
  world.addBot(HOST, {
    botId: 'mac-a',
    dimensions: macBotDimensions(POOL, '14.5'),
    isDead: true,
    firstSeenAt: Date.parse('2026-08-01T10:00:03.123Z'),
    lastSeenAt: Date.parse('2026-08-02T07:12:00Z'),
  });
  world.addBot(HOST, { botId: 'mac-b', dimensions: macBotDimensions(POOL, '15.3'), quarantined: true, maintenanceMsg: 'disk check' });
  world.addBot(HOST, { botId: 'linux-a', dimensions: [{ key: 'os', value: ['Linux'] }, { key: 'pool', value: [POOL] }] });
  world.addBot(HOST, { botId: 'mac-other-pool', dimensions: macBotDimensions('luci.other', '15.3') });
  world.addBot('chrome-swarming.appspot.com', { botId: 'mac-elsewhere', dimensions: macBotDimensions(POOL, '15.3') });
  fake = await startSwarmingFake({ world, host: HOST });
});
afterEach(async () => {
  await fake.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function post(body: unknown, headers: Record<string, string> = JSON_HEADERS, path = PATH): Promise<Answer> {
  const response = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The JSON of a successful answer, after checking its pRPC framing. */
function message(answer: Answer): Record<string, unknown> {
  expect(answer.status).toBe(200);
  expect(answer.headers.get('x-prpc-grpc-code')).toBe('0');
  expect(answer.text.startsWith(XSSI)).toBe(true);
  expect(answer.text.endsWith('\n')).toBe(true);
  return JSON.parse(answer.text.slice(XSSI.length)) as Record<string, unknown>;
}

function ids(answer: Answer): string[] {
  return ((message(answer).items ?? []) as { botId: string }[]).map((item) => item.botId);
}

function expectRpcError(answer: Answer, status: number, code: number, text: string | RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('x-prpc-grpc-code')).toBe(String(code));
  expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(answer.text.startsWith(XSSI)).toBe(false);
  if (typeof text === 'string') expect(answer.text).toBe(`${text}\n`);
  else expect(answer.text).toMatch(text);
}

// node:http, because fetch always adds an Accept of any type, and a Content-Type for a string body.
function rawPost(headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${fake.url}${PATH}`, { method: 'POST', headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) answerHeaders.set(name, String(value));
        resolve({ status: response.statusCode ?? 0, headers: answerHeaders, text });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('a successful ListBots answer', () => {
  it('is framed as in the spec: XSSI prefix, JSON, newline, pRPC headers', async () => {
    const answer = await post({ limit: 1000, dimensions: MAC_FILTER });
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(message(answer)).toMatchObject({ now: '2026-08-02T10:00:00Z', deathTimeout: 600 });
  });

  it('lists the matching bots of its own host in bot id order, leaving out proto3 defaults', async () => {
    const { items } = message(await post({ limit: 1000, dimensions: MAC_FILTER })) as { items: Record<string, unknown>[] };
    expect(items.map((item) => item.botId)).toEqual(['mac-a', 'mac-b', 'mac-c']);
    const [dead, quarantined, busy] = items as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    expect(dead).toEqual({
      botId: 'mac-a',
      isDead: true,
      firstSeenTs: '2026-08-01T10:00:03.123Z',
      lastSeenTs: '2026-08-02T07:12:00Z',
      dimensions: [
        { key: 'cpu', value: ['x86-64'] },
        { key: 'os', value: ['Mac', 'Mac-14', 'Mac-14.5'] },
        { key: 'pool', value: [POOL] },
      ],
      state: '{}',
    });
    expect(quarantined).toMatchObject({ quarantined: true, maintenanceMsg: 'disk check' });
    expect(quarantined).not.toHaveProperty('isDead');
    expect(JSON.parse(quarantined.state as string)).toEqual({ quarantined: true, maintenance: 'disk check' });
    expect(busy).toMatchObject({ taskId: 'task-1', taskName: 'build' });
    expect(busy).not.toHaveProperty('quarantined');
    expect(dead).not.toHaveProperty('taskId');
  });

  it('leaves out items and cursor when nothing matches', async () => {
    const answer = await post({ dimensions: [{ key: 'pool', value: 'no-such-pool' }] });
    expect(message(answer)).toEqual({ now: '2026-08-02T10:00:00Z', deathTimeout: 600 });
  });

  it('reads snake_case names, numbers as strings, and ignores unknown fields', async () => {
    const answer = await post({ limit: '1', dimensions: MAC_FILTER, is_dead: 'TRUE', future_field: { x: 1 } });
    expect(ids(answer)).toEqual(['mac-a']);
  });

  it('records each request with its path, headers and parsed body', async () => {
    await post({ limit: 5, dimensions: MAC_FILTER }, { ...JSON_HEADERS, 'X-Prpc-Grpc-Timeout': '90000000u' });
    expect(fake.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: PATH,
        headers: expect.objectContaining({ 'x-prpc-grpc-timeout': '90000000u', accept: 'application/json' }),
        body: { limit: 5, dimensions: MAC_FILTER },
      }),
    ]);
  });
});

describe('dimension filters', () => {
  it.each([
    ['an AND of pairs', MAC_FILTER, ['mac-a', 'mac-b', 'mac-c']],
    ['any one of several values of a multi-valued dimension', [{ key: 'os', value: 'Mac-15.3' }], ['mac-b', 'mac-c', 'mac-other-pool']],
    ['`|` alternatives', [{ key: 'pool', value: `luci.other|${POOL}` }, { key: 'os', value: 'Mac-14|Linux' }], ['linux-a', 'mac-a']],
    ['the same key twice, each an AND term', [{ key: 'os', value: 'Mac' }, { key: 'os', value: 'Mac-15' }, { key: 'cpu', value: 'arm64' }], ['mac-c']],
    ['a key no bot has', [{ key: 'gpu', value: 'none' }], []],
    ['no filter at all', [], ['linux-a', 'mac-a', 'mac-b', 'mac-c', 'mac-other-pool']],
  ])('match %s', async (_name, dimensions, expected) => {
    expect(ids(await post({ dimensions }))).toEqual(expected);
  });

  it.each([
    ['isDead', 'TRUE', ['mac-a']],
    ['isDead', 'FALSE', ['mac-b', 'mac-c']],
    ['is_busy', 2, ['mac-c']],
    ['quarantined', 'TRUE', ['mac-b']],
    ['inMaintenance', 'TRUE', ['mac-b']],
    ['isDead', 'NULL', ['mac-a', 'mac-b', 'mac-c']],
    ['isDead', null, ['mac-a', 'mac-b', 'mac-c']],
    ['isDead', 'NOT_A_VALUE', ['mac-a', 'mac-b', 'mac-c']],
  ])('filter on state %s=%s', async (field, value, expected) => {
    expect(ids(await post({ dimensions: MAC_FILTER, [field]: value }))).toEqual(expected);
  });

  it.each([
    ['', 'Mac', 'invalid dimensions: bad key "": the key cannot be empty'],
    ['os name', 'Mac', /^invalid dimensions: bad key "os name": the key should match /],
    ['k'.repeat(65), 'Mac', /the key should be no longer than 64 bytes/],
    ['os', ' Mac', 'invalid dimensions: bad value " Mac" for key "os": the value should have no leading or trailing spaces'],
    ['os', 'v'.repeat(257), /the value should be no longer than 256 bytes/],
  ])('refuses key %j value %j with INVALID_ARGUMENT', async (key, value, text) => {
    expectRpcError(await post({ dimensions: [{ key, value }] }), 400, 3, text);
  });
});

describe('paging', () => {
  it('carries a cursor after a full page, then answers an empty last page with neither items nor cursor', async () => {
    const first = message(await post({ limit: 2, dimensions: MAC_FILTER }));
    expect((first.items as unknown[]).length).toBe(2);
    expect(Buffer.from(first.cursor as string, 'base64url').toString()).toBe('mac-b');
    const second = message(await post({ limit: 2, cursor: first.cursor, dimensions: MAC_FILTER }));
    expect((second.items as { botId: string }[]).map((item) => item.botId)).toEqual(['mac-c']);
    expect(second).not.toHaveProperty('cursor');

    const full = message(await post({ limit: 3, dimensions: MAC_FILTER }));
    expect((full.items as unknown[]).length).toBe(3);
    const last = message(await post({ limit: 3, cursor: full.cursor, dimensions: MAC_FILTER }));
    expect(last).toEqual({ now: '2026-08-02T10:00:00Z', deathTimeout: 600 });
  });

  it('pages by 100 when the limit is 0 or absent', async () => {
    for (let i = 0; i < 101; i++) world.addBot(HOST, { botId: `bulk-${String(i).padStart(3, '0')}`, dimensions: macBotDimensions('bulk', '15.3') });
    const filter = [{ key: 'pool', value: 'bulk' }];
    expect(ids(await post({ limit: 0, dimensions: filter }))).toHaveLength(100);
    const first = message(await post({ dimensions: filter }));
    expect(first.items).toHaveLength(100);
    expect(ids(await post({ cursor: first.cursor, dimensions: filter }))).toEqual(['bulk-100']);
  });

  it('caps pages at pageSize when it is set, but a smaller request limit wins', async () => {
    fake.pageSize = 2;
    expect(ids(await post({ limit: 1000, dimensions: MAC_FILTER }))).toEqual(['mac-a', 'mac-b']);
    expect(ids(await post({ dimensions: MAC_FILTER }))).toEqual(['mac-a', 'mac-b']);
    expect(ids(await post({ limit: 1, dimensions: MAC_FILTER }))).toEqual(['mac-a']);
  });

  it.each([
    [1001, 'invalid limit: must be less or equal to 1000, got 1001'],
    [-1, 'invalid limit: must be positive, got -1'],
  ])('refuses limit %d with INVALID_ARGUMENT rather than clamping', async (limit, text) => {
    expectRpcError(await post({ limit, dimensions: MAC_FILTER }), 400, 3, text);
  });

  it.each(['not a cursor!', 'AAA=', 'x'])('refuses the malformed cursor %j', async (cursor) => {
    expectRpcError(await post({ cursor, dimensions: MAC_FILTER }), 400, 3, 'bad pagination cursor');
  });
});

describe('pRPC protocol errors', () => {
  it.each([
    ['an empty body', ''],
    ['a body that is not JSON', '{"limit":'],
    ['a field of the wrong type', '{"dimensions":"pool=x"}'],
    ['a field given under both names', '{"isDead":"TRUE","is_dead":"TRUE"}'],
  ])('refuses %s with 400, code 3', async (_name, body) => {
    expectRpcError(await post(body), 400, 3, /^could not decode body: /);
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['application/prpc; encoding=json'],
  ])('reads a body sent as %s', async (contentType) => {
    expect(ids(await post({ dimensions: MAC_FILTER }, { 'Content-Type': contentType, Accept: 'application/json' }))).toHaveLength(3);
  });

  it.each([
    ['text/plain', 'bad Content-Type header: unknown content type: "text/plain"'],
    ['application/prpc; encoding=binary', 'bad Content-Type header: this fake reads JSON only, not binary protobuf'],
    ['application/prpc', 'bad Content-Type header: this fake reads JSON only, not binary protobuf'],
    ['application/prpc; encoding=json; x=1', 'bad Content-Type header: unexpected parameter "x"'],
  ])('refuses Content-Type %s with 415, code 3', async (contentType, text) => {
    expectRpcError(await post({}, { 'Content-Type': contentType, Accept: 'application/json' }), 415, 3, text);
  });

  it('takes a missing Content-Type as binary protobuf, which it does not read', async () => {
    const answer = await rawPost({ Accept: 'application/json' }, '{}');
    expectRpcError(answer, 415, 3, 'bad Content-Type header: this fake reads JSON only, not binary protobuf');
  });

  it('takes a missing Accept as a request for binary, which it does not write', async () => {
    const answer = await rawPost({ 'Content-Type': 'application/json' }, '{}');
    expectRpcError(answer, 406, 3, 'bad Accept header: this fake answers JSON only, not binary protobuf');
  });

  it.each([
    ['*/*', 406],
    ['application/*', 406],
    // Equal quality: binary wins the tie, so asking for JSON "or anything" gets binary.
    ['application/json, */*', 406],
    ['application/prpc; encoding=text', 406],
    ['text/html', 406],
    ['application/json, */*;q=0.5', 200],
    ['text/html, application/json', 200],
    ['application/prpc; encoding=json', 200],
  ])('with Accept %s answers %d', async (accept, status) => {
    const answer = await post({}, { 'Content-Type': 'application/json', Accept: accept });
    expect(answer.status).toBe(status);
    if (status !== 200) expectRpcError(answer, 406, 3, /^bad Accept header: /);
  });

  it('answers an unknown method or service with 501, code 12 and the fixed text', async () => {
    for (const path of ['/prpc/swarming.v2.Bots/GetBot', '/prpc/swarming.v1.Bots/ListBots']) {
      expectRpcError(await post({}, JSON_HEADERS, path), 501, 12, 'API method not implemented by the server');
    }
  });

  it('answers a GET, or a path outside /prpc/, as a router would: no pRPC code', async () => {
    const get = await fetch(`${fake.url}${PATH}`, { headers: JSON_HEADERS });
    expect(get.status).toBe(405);
    expect(get.headers.get('x-prpc-grpc-code')).toBeNull();
    const root = await post({}, JSON_HEADERS, '/');
    expect(root.status).toBe(404);
    expect(root.headers.get('x-prpc-grpc-code')).toBeNull();
  });

  it('refuses a malformed X-Prpc-Grpc-Timeout header', async () => {
    expectRpcError(await post({}, { ...JSON_HEADERS, 'X-Prpc-Grpc-Timeout': '90s' }), 400, 3, /^bad X-Prpc-Grpc-Timeout header/);
  });
});

describe('authentication', () => {
  let guarded: SwarmingFake;
  beforeEach(async () => {
    guarded = await startSwarmingFake({ world, host: HOST, requireToken: true });
  });
  afterEach(async () => {
    await guarded.close();
  });

  async function postGuarded(body: unknown, headers: Record<string, string>): Promise<Answer> {
    const response = await fetch(`${guarded.url}${PATH}`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  it('refuses an anonymous caller the pool with 403, code 7, as the ACL does', async () => {
    expectRpcError(
      await postGuarded({ dimensions: MAC_FILTER }, JSON_HEADERS),
      403,
      7,
      `the caller "anonymous:anonymous" doesn't have permission "swarming.pools.listBots" in the pool "${POOL}" or the pool doesn't exist`,
    );
    expectRpcError(await postGuarded({}, JSON_HEADERS), 403, 7, /doesn't have server-level permission "swarming.pools.listBots"/);
  });

  it('lists for a bearer token, whatever the case of the scheme word', async () => {
    for (const authorization of ['Bearer ya29.test', 'bearer ya29.test', 'OAuth ya29.test']) {
      expect(ids(await postGuarded({ dimensions: MAC_FILTER }, { ...JSON_HEADERS, Authorization: authorization }))).toHaveLength(3);
    }
  });

  it('refuses an unparsable Authorization header with 401, code 16', async () => {
    expectRpcError(await postGuarded({}, { ...JSON_HEADERS, Authorization: 'Basic a b' }), 401, 16, 'oauth: bad Authorization header');
  });

  it('lets anonymous callers list when it does not require a token', async () => {
    expect(ids(await post({ dimensions: MAC_FILTER }))).toHaveLength(3);
  });
});

describe('fault injection', () => {
  it('answers a status fault without a pRPC code unless given one, for `times` requests only', async () => {
    fake.inject({ kind: 'status', status: 503, times: 1 });
    const answer = await post({ dimensions: MAC_FILTER });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-prpc-grpc-code')).toBeNull();
    expect(ids(await post({ dimensions: MAC_FILTER }))).toHaveLength(3);

    fake.inject({ kind: 'status', status: 500, grpcCode: 13 });
    expectRpcError(await post({}), 500, 13, 'Internal server error');
    expectRpcError(await post({}), 500, 13, 'Internal server error');
    fake.clearFaults();
    expect(ids(await post({ dimensions: MAC_FILTER }))).toHaveLength(3);
  });

  it('serves an HTML page as text/html, with any extra headers', async () => {
    fake.inject({ kind: 'status', status: 429, body: '<html><body>Too many</body></html>', headers: { 'Retry-After': '7' } });
    const answer = await post({});
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('retry-after')).toBe('7');
  });

  it('sends a garbage body with success headers, verbatim', async () => {
    fake.inject({ kind: 'garbage', body: 'not json' });
    const answer = await post({});
    expect(answer.headers.get('x-prpc-grpc-code')).toBe('0');
    expect(answer.text).toBe('not json');
  });

  it('answers an empty list for an empty fault', async () => {
    fake.inject({ kind: 'empty' });
    expect(message(await post({ dimensions: MAC_FILTER }))).toEqual({ now: '2026-08-02T10:00:00Z', deathTimeout: 600 });
  });

  it('delays, then answers normally', async () => {
    fake.inject({ kind: 'delay', ms: 150, times: 1 });
    const started = Date.now();
    expect(ids(await post({ dimensions: MAC_FILTER }))).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('hands out a cursor that leads back to the first page for repeat-cursor', async () => {
    fake.inject({ kind: 'repeat-cursor' });
    const first = message(await post({ limit: 1000, dimensions: MAC_FILTER }));
    const second = message(await post({ limit: 1000, cursor: first.cursor, dimensions: MAC_FILTER }));
    expect(first.cursor).toBeTruthy();
    expect(second.cursor).toBe(first.cursor);
    expect(second.items).toEqual(first.items);
  });

  it('still records faulted requests', async () => {
    fake.inject({ kind: 'status', status: 502 });
    await post({ limit: 1 });
    expect(fake.requests.map((request) => request.body)).toEqual([{ limit: 1 }]);
  });
});
