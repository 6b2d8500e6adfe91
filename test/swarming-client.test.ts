// The real Swarming client against the fake server over loopback: what it sends, what it
// makes of each answer, and which failures it calls retryable.
import dns from 'node:dns';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, CallCounter } from '../shared/http';
import { startSwarmingFake, type SwarmingFake, type SwarmingFault } from '../shared/sim/swarming-fake';
import { macBotDimensions, World } from '../shared/sim/world';
import { encodeGrpcTimeout, SwarmingClient, type SwarmingClientOptions } from '../shared/swarming/client';
import { grpcCodeName, httpStatusForCode } from '../shared/swarming/wire';

const HOST = 'chromium-swarm.appspot.com';
const POOL = 'luci.golang.shared-workers';
const NOW = Date.parse('2026-08-02T10:00:00.000Z');
const TOKEN = 'ya29.secret-test-token';
const XSSI = ")]}'\n";

let world: World;
let fake: SwarmingFake;
let calls: CallCounter;
let getToken: ReturnType<typeof vi.fn<() => Promise<string>>>;

beforeEach(async () => {
  world = new World({ now: () => NOW });
  world.addBot(HOST, { botId: 'mac-c', dimensions: macBotDimensions(POOL, '15.3'), taskId: 'task-1' });
  world.addBot(HOST, {
    botId: 'mac-a',
    dimensions: macBotDimensions(POOL, '14.5'),
    isDead: true,
    firstSeenAt: NOW - 86_400_000,
    lastSeenAt: NOW - 3_600_000,
  });
  world.addBot(HOST, { botId: 'mac-b', dimensions: macBotDimensions(POOL, '15.3'), quarantined: true, maintenanceMsg: 'disk' });
  world.addBot(HOST, { botId: 'linux-a', dimensions: [{ key: 'pool', value: [POOL] }, { key: 'os', value: ['Linux'] }] });
  fake = await startSwarmingFake({ world, host: HOST });
  calls = new CallCounter();
  getToken = vi.fn(async () => TOKEN);
});
afterEach(async () => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  await fake.close();
});

function client(options: Partial<SwarmingClientOptions> = {}): SwarmingClient {
  return new SwarmingClient({ host: HOST, url: fake.url, pool: POOL, timeoutMs: 2_000, getToken, calls, ...options });
}

async function listError(lister: SwarmingClient = client()): Promise<ApiError> {
  const error = await lister.listBots().then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  expect(apiError.message).toMatch(new RegExp(`^swarming ${HOST.replace(/\./g, '\\.')} ListBots: `));
  expect(apiError.details.endpoint).toBe(`swarming ${HOST} ListBots`);
  expect(apiError.message).not.toContain(TOKEN);
  return apiError;
}

describe('listing bots', () => {
  it('follows every cursor with page size 1, through the empty last page', async () => {
    const bots = await client({ pageLimit: 1 }).listBots();
    expect(bots.map((bot) => bot.botId)).toEqual(['mac-a', 'mac-b', 'mac-c']);
    // A full page always carries a cursor, so 3 bots take 4 pages, the last empty.
    expect(fake.requests).toHaveLength(4);
    expect(calls.counts).toEqual({ 'swarming.ListBots': 4 });
    const cursors = fake.requests.map((request) => (request.body as { cursor?: string }).cursor);
    expect(cursors[0]).toBeUndefined();
    expect(new Set(cursors.slice(1)).size).toBe(3);
  });

  it('follows the cursors of a server whose pages are smaller than the limit asked for', async () => {
    fake.pageSize = 2;
    expect((await client().listBots()).map((bot) => bot.botId)).toEqual(['mac-a', 'mac-b', 'mac-c']);
    expect(fake.requests.map((request) => (request.body as { limit: number }).limit)).toEqual([1000, 1000]);
  });

  it('sends the pRPC JSON headers and the pool and os=Mac filter, with no token to a loopback server', async () => {
    await client({ timeoutMs: 90_000 }).listBots();
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/prpc/swarming.v2.Bots/ListBots');
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-prpc-grpc-timeout': '90000000u',
      'user-agent': 'makemac',
    });
    expect(request?.headers).not.toHaveProperty('authorization');
    expect(getToken).not.toHaveBeenCalled();
    expect(request?.body).toEqual({
      limit: 1000,
      dimensions: [
        { key: 'pool', value: POOL },
        { key: 'os', value: 'Mac' },
      ],
    });
  });

  it('turns each BotInfo into a domain Bot, filling in proto3 defaults', async () => {
    const bots = await client().listBots();
    expect(bots).toEqual([
      {
        botId: 'mac-a',
        isDead: true,
        quarantined: false,
        inMaintenance: false,
        taskId: null,
        firstSeenAt: NOW - 86_400_000,
        lastSeenAt: NOW - 3_600_000,
      },
      { botId: 'mac-b', isDead: false, quarantined: true, inMaintenance: true, taskId: null, firstSeenAt: NOW, lastSeenAt: NOW },
      { botId: 'mac-c', isDead: false, quarantined: false, inMaintenance: false, taskId: 'task-1', firstSeenAt: NOW, lastSeenAt: NOW },
    ]);
  });

  it('reads an answer with no items as an empty list', async () => {
    fake.inject({ kind: 'empty' });
    expect(await client().listBots()).toEqual([]);
  });

  it('reads snake_case names, every timestamp width and offset, and skips unknown fields', async () => {
    const body = {
      items: [
        { bot_id: 'mac-1', is_dead: true, last_seen_ts: '2026-08-02T09:59:41.5Z', first_seen_ts: '2026-08-01T10:00:03Z', new_field: [1] },
        { botId: 'mac-2', task_id: 't', maintenance_msg: 'm', lastSeenTs: '2026-08-02T15:29:41.123456789+05:30' },
        { botId: 'mac-3', isDead: null, lastSeenTs: '2026-08-02T09:59:41.123456Z' },
      ],
      death_timeout: 600,
      now: '2026-08-02T10:00:00.000001Z',
      serverAddedThis: { nested: true },
    };
    fake.inject({ kind: 'garbage', body: `${XSSI}${JSON.stringify(body)}\n` });
    expect(await client().listBots()).toEqual([
      {
        botId: 'mac-1',
        isDead: true,
        quarantined: false,
        inMaintenance: false,
        taskId: null,
        lastSeenAt: Date.parse('2026-08-02T09:59:41.500Z'),
        firstSeenAt: Date.parse('2026-08-01T10:00:03Z'),
      },
      {
        botId: 'mac-2',
        isDead: false,
        quarantined: false,
        inMaintenance: true,
        taskId: 't',
        lastSeenAt: Date.parse('2026-08-02T09:59:41.123Z'),
        firstSeenAt: null,
      },
      {
        botId: 'mac-3',
        isDead: false,
        quarantined: false,
        inMaintenance: false,
        taskId: null,
        lastSeenAt: Date.parse('2026-08-02T09:59:41.123Z'),
        firstSeenAt: null,
      },
    ]);
  });

  it('accepts a 200 whose X-Prpc-Grpc-Code header a proxy dropped, when the XSSI prefix shows it is pRPC', async () => {
    fake.inject({ kind: 'status', status: 200, body: `${XSSI}{"items":[{"botId":"mac-z"}]}\n` });
    expect((await client().listBots()).map((bot) => bot.botId)).toEqual(['mac-z']);
  });
});

describe('failures', () => {
  const html = '<html><head><style>p{}</style><title>Error</title></head><body><p>The server encountered a temporary error &amp; could not complete your request.</p></body></html>';

  it.each<[string, SwarmingFault, boolean, RegExp]>([
    ['401 without a pRPC code', { kind: 'status', status: 401 }, false, /HTTP 401 without X-Prpc-Grpc-Code \(UNAUTHENTICATED\)/],
    ['403 without a pRPC code', { kind: 'status', status: 403 }, false, /HTTP 403 without X-Prpc-Grpc-Code \(PERMISSION_DENIED\)/],
    ['503 without a pRPC code', { kind: 'status', status: 503 }, true, /HTTP 503 without X-Prpc-Grpc-Code \(UNAVAILABLE\)/],
    ['500 without a pRPC code', { kind: 'status', status: 500 }, true, /HTTP 500 without X-Prpc-Grpc-Code \(INTERNAL\)/],
    ['429 without a pRPC code', { kind: 'status', status: 429 }, true, /\(RESOURCE_EXHAUSTED\)/],
    ['404 without a pRPC code', { kind: 'status', status: 404, body: 'Not Found' }, false, /HTTP 404 .*not a pRPC answer.*: Not Found$/],
    ['an HTML error page from the front end', { kind: 'status', status: 502, body: html }, true, /\(INTERNAL\): Error The server encountered a temporary error & could not complete your request\.$/],
    ['a 200 HTML page without a pRPC code', { kind: 'status', status: 200, body: html }, false, /HTTP 200 without X-Prpc-Grpc-Code \(not a pRPC answer\)/],
    ['pRPC UNAVAILABLE', { kind: 'status', status: 503, grpcCode: 14 }, true, /UNAVAILABLE \(HTTP 503\): Service unavailable$/],
    ['pRPC DEADLINE_EXCEEDED', { kind: 'status', status: 504, grpcCode: 4 }, true, /DEADLINE_EXCEEDED \(HTTP 504\)/],
    ['pRPC UNKNOWN', { kind: 'status', status: 500, grpcCode: 2 }, true, /UNKNOWN \(HTTP 500\): Unknown server error$/],
    ['pRPC ABORTED', { kind: 'status', status: 409, grpcCode: 10, body: 'aborted' }, true, /ABORTED \(HTTP 409\): aborted$/],
    ['pRPC UNAUTHENTICATED', { kind: 'status', status: 401, grpcCode: 16, body: 'oauth: bad access token\n' }, false, /UNAUTHENTICATED \(HTTP 401\): oauth: bad access token$/],
    // The code decides, whatever the HTTP status says.
    ['pRPC INVALID_ARGUMENT under HTTP 500', { kind: 'status', status: 500, grpcCode: 3, body: 'bad' }, false, /INVALID_ARGUMENT \(HTTP 500\): bad$/],
    ['pRPC INTERNAL under HTTP 400', { kind: 'status', status: 400, grpcCode: 13 }, true, /INTERNAL \(HTTP 400\)/],
    ['a code outside the table', { kind: 'status', status: 400, grpcCode: 99, body: 'odd' }, false, /CODE_99 \(HTTP 400\): odd$/],
    ['a code header that is not a number', { kind: 'status', status: 500, headers: { 'X-Prpc-Grpc-Code': 'abc' } }, true, /X-Prpc-Grpc-Code header is not a number: "abc"/],
    ['pRPC OK with a non-JSON Content-Type', { kind: 'status', status: 200, grpcCode: 0, body: '{}' }, false, /answered OK with Content-Type "text\/plain; charset=utf-8", not JSON/],
    ['a garbage body', { kind: 'garbage', body: 'hello, world' }, false, /response is not valid JSON .*: hello, world$/],
    ['truncated JSON', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":"mac-1"` }, false, /response is not valid JSON/],
    ['a JSON array', { kind: 'garbage', body: `${XSSI}[]\n` }, false, /unexpected response: \(body\): /],
    ['an invalid timestamp', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":"mac-1","lastSeenTs":"2026-02-30T00:00:00Z"}]}` }, false, /unexpected response: items\.0\.lastSeenTs: not an RFC 3339 timestamp: "2026-02-30T00:00:00Z"/],
    ['a bot without an id', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":"mac-1"},{"isDead":true}]}` }, false, /unexpected response: items\.1\.botId: /],
    ['a bot with an empty id', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":""}]}` }, false, /items\.0\.botId: bot id is empty/],
    ['isDead as a string', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":"b","isDead":"true"}]}` }, false, /items\.0\.isDead: /],
    ['deathTimeout as a string', { kind: 'garbage', body: `${XSSI}{"deathTimeout":"600"}` }, false, /deathTimeout: /],
    ['a field under both names', { kind: 'garbage', body: `${XSSI}{"items":[{"botId":"a","bot_id":"b"}]}` }, false, /field "botId" given twice/],
  ])('%s is an ApiError that names the host', async (_name, fault, retryable, message) => {
    fake.inject(fault);
    const error = await listError();
    expect(error.details.retryable).toBe(retryable);
    expect(error.details.outcomeUnknown).toBe(false);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('<');
    expect(error.message.length).toBeLessThan(400);
  });

  it('fails the whole listing when a later page fails, having counted both calls', async () => {
    // Hold the first page so the fault lands on the second.
    fake.inject({ kind: 'delay', ms: 100, times: 1 });
    const listing = client({ pageLimit: 1 }).listBots();
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    fake.inject({ kind: 'status', status: 503 });
    await expect(listing).rejects.toMatchObject({ details: { retryable: true, status: 503 } });
    expect(fake.requests).toHaveLength(2);
    expect(calls.counts['swarming.ListBots']).toBe(2);
  });

  it('cannot connect: a retryable ApiError', async () => {
    const url = fake.url;
    await fake.close();
    const error = await listError(client({ url }));
    expect(error.details.retryable).toBe(true);
    expect(error.message).toContain('connection failed (ECONNREFUSED)');
    fake = await startSwarmingFake({ world, host: HOST });
  });

  it('reports the HTTP status and Retry-After seconds', async () => {
    fake.inject({ kind: 'status', status: 429, grpcCode: 8, headers: { 'Retry-After': '7' } });
    const error = await listError();
    expect(error.details).toMatchObject({ status: 429, retryable: true, retryAfterSeconds: 7 });
  });

  it('is refused by the ACL when the server wants a token and none is sent to loopback', async () => {
    const guarded = await startSwarmingFake({ world, host: HOST, requireToken: true });
    try {
      const error = await listError(client({ url: guarded.url }));
      expect(error.details).toMatchObject({ status: 403, retryable: false });
      expect(error.message).toContain(`PERMISSION_DENIED (HTTP 403): the caller "anonymous:anonymous"`);
    } finally {
      await guarded.close();
    }
  });

  it('gives up on a slow answer at its timeout, as a retryable error', async () => {
    fake.inject({ kind: 'delay', ms: 1_000 });
    const started = Date.now();
    const error = await listError(client({ timeoutMs: 100 }));
    expect(error.details.retryable).toBe(true);
    expect(error.message).toContain('no response within 100ms');
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('stops with an error when the server repeats a cursor instead of looping', async () => {
    fake.inject({ kind: 'repeat-cursor' });
    const error = await listError();
    expect(error.details.retryable).toBe(false);
    expect(error.message).toContain('page 2 repeated an earlier cursor');
    expect(fake.requests).toHaveLength(2);
  });

  it('stops with an error beyond maxPages pages', async () => {
    const error = await listError(client({ pageLimit: 1, maxPages: 2 }));
    expect(error.details.retryable).toBe(false);
    expect(error.message).toContain('still more bots after 2 pages of 1');
    expect(fake.requests).toHaveLength(2);
    expect(calls.counts['swarming.ListBots']).toBe(2);
  });

  it('refuses a page limit the server would refuse', () => {
    expect(() => client({ pageLimit: 1001 })).toThrow(RangeError);
    expect(() => client({ pageLimit: 0 })).toThrow(RangeError);
  });
});

describe('the access token', () => {
  /** A non-loopback URL whose name resolves to the fake, as DNS would if the name pointed there. */
  function routeToFake(hostname: string): string {
    const realLookup = dns.lookup;
    vi.spyOn(dns, 'lookup').mockImplementation(((name: string, options: unknown, callback: unknown) => {
      expect(name).toBe(hostname);
      return (realLookup as (...args: unknown[]) => void)('127.0.0.1', options, callback);
    }) as typeof dns.lookup);
    return `http://${hostname}:${new URL(fake.url).port}`;
  }

  it('is fetched once per listing and sent as a bearer token to a non-loopback URL', async () => {
    const url = routeToFake('swarming.example.test');
    const bots = await client({ url, pageLimit: 2 }).listBots();
    expect(bots).toHaveLength(3);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it('is never quoted in an error, even when a proxy echoes the request', async () => {
    const url = routeToFake('swarming.example.test');
    fake.inject({ kind: 'status', status: 502, body: `bad gateway; request had Authorization: Bearer ${TOKEN}` });
    const error = await listError(client({ url }));
    expect(error.message).toContain('Authorization: Bearer [token]');
  });

  it('failing to arrive is a non-retryable ApiError, and nothing is sent', async () => {
    getToken.mockRejectedValueOnce(new Error('metadata server said no'));
    const error = await listError(client({ url: 'https://swarming.example.test' }));
    expect(error.details.retryable).toBe(false);
    expect(error.message).toContain('could not get an access token: metadata server said no');
    expect(fake.requests).toHaveLength(0);
  });

  it('comes from Application Default Credentials when no provider is given', async () => {
    // The test environment has no credentials (METADATA_SERVER_DETECTION=none), so this fails the ADC way.
    const error = await listError(new SwarmingClient({ host: HOST, url: 'https://swarming.example.test', pool: POOL, timeoutMs: 2_000 }));
    expect(error.message).toMatch(/could not get an access token: .*credentials/i);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('wire details', () => {
  it.each([
    [90_000, '90000000u'],
    [50, '50000000n'],
    [100, '100000u'],
    [2_000, '2000000u'],
    [3_600_000, '3600000m'],
    [0.0000015, '2n'],
  ])('encodes a %dms timeout as %s', (ms, header) => {
    expect(encodeGrpcTimeout(ms)).toBe(header);
  });

  it('maps gRPC codes to names and HTTP statuses as the Go server does', () => {
    const table = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
    expect(table.map((_, code) => httpStatusForCode(code))).toEqual(table);
    expect([0, 3, 7, 14, 16].map(grpcCodeName)).toEqual(['OK', 'INVALID_ARGUMENT', 'PERMISSION_DENIED', 'UNAVAILABLE', 'UNAUTHENTICATED']);
  });
});
