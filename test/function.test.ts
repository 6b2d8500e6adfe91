// The Cloud Function in-process (functions-framework's test server) against the fakes.
import './support/function-env';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetInstance, traceOf } from '../functions/reconcile';
import { startFunctionServer } from './support/function-server';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, SECRETS, startFakeFleet, type FakeFleet } from './support/fake-fleet';

let fleet: FakeFleet;
let server: Awaited<ReturnType<typeof startFunctionServer>>;
let baseUrl: string;
let stdout: string;

beforeAll(async () => {
  Object.assign(process.env, SECRET_ENV);
  server = await startFunctionServer();
  baseUrl = server.url;
});
afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  fleet = await startFakeFleet();
  process.env.MAKEMAC_CONFIG = JSON.stringify(fleet.configDocument({ policy: { maxAttempts: 1 } }));
  await resetInstance();
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
    stdout += chunk.toString();
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fleet.close();
});

const mutations = () => fleet.macService.requests.filter((r) => r.verb !== 'find');

describe('the reconcile function', () => {
  it('runs a pass on POST and answers its summary', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });

    const response = await fetch(`${baseUrl}/`, {
      method: 'POST',
      headers: { 'X-Cloud-Trace-Context': '0123456789abcdef0123456789abcdef/1;o=1' },
    });

    expect(response.status).toBe(200);
    const summary: any = await response.json();
    expect(summary).toMatchObject({ outcome: 'ok', dryRun: false, failures: [], actions: { planned: 1, ok: 1 } });
    expect(summary.groups).toHaveLength(3);
    expect(mutations().map((r) => [r.verb, r.body.leaseId])).toEqual([['vacate', dead.leaseId]]);
    const lines = stdout.split('\n').filter((l) => l.includes('"event"')).map((l) => JSON.parse(l));
    const vacate = lines.find((l) => l.event === 'lease.vacate');
    expect(vacate['logging.googleapis.com/trace']).toBe('projects/makemac-test/traces/0123456789abcdef0123456789abcdef');
    expect(vacate.passId).toBe(summary.passId);
  });

  it('forces a dry run with ?dryRun=1', async () => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const response = await fetch(`${baseUrl}/?dryRun=1`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).dryRun).toBe(true);
    expect(mutations()).toEqual([]);
  });

  it.each(['?dryRun=TRUE', '?dryRun=yes', '?dryRun'])('takes %s as a dry run too', async (query) => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const response = await fetch(`${baseUrl}/${query}`, { method: 'POST' });
    expect(((await response.json()) as any).dryRun).toBe(true);
    expect(mutations()).toEqual([]);
  });

  it.each(['?dryRun=maybe', '?dryrun=1', '?dryRun=1&dryRun=1'])('refuses %s with 400 rather than run a live pass', async (query) => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const response = await fetch(`${baseUrl}/${query}`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error).toMatch(/dryRun/);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('takes ?dryRun=0 as asking for no dry run: a live pass, unless the config says dry run', async () => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    process.env.MAKEMAC_CONFIG = JSON.stringify(fleet.configDocument({ dryRun: true, policy: { maxAttempts: 1 } }));
    await resetInstance();
    expect(((await (await fetch(`${baseUrl}/?dryRun=0`, { method: 'POST' })).json()) as any).dryRun).toBe(true);
    expect(mutations()).toEqual([]);

    process.env.MAKEMAC_CONFIG = JSON.stringify(fleet.configDocument({ policy: { maxAttempts: 1 } }));
    await resetInstance();
    expect(((await (await fetch(`${baseUrl}/?dryRun=false`, { method: 'POST' })).json()) as any).dryRun).toBe(false);
    expect(mutations().map((r) => r.verb)).toContain('vacate');
  });

  const json = (body: string) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body });

  it('honours a JSON body {"dryRun": true}', async () => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const response = await fetch(`${baseUrl}/`, json('{"dryRun": true}'));
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).dryRun).toBe(true);
    expect(mutations()).toEqual([]);
    // The same, agreeing with the query.
    expect(((await (await fetch(`${baseUrl}/?dryRun=1`, json('{"dryRun": true}'))).json()) as any).dryRun).toBe(true);
    expect(mutations()).toEqual([]);
  });

  it.each([
    ['{"dryRun": false}', true],
    ['{}', true],
    ['', false],
  ])('runs a live pass for the body %j', async (body, asJson) => {
    fleet.seedConvergedFleet();
    const response = await fetch(`${baseUrl}/`, asJson ? json(body) : { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).dryRun).toBe(false);
  });

  it.each([
    ['another key', '/', json('{"dryRun": true, "force": true}'), /unknown body key "force"/],
    ['a string', '/', json('{"dryRun": "true"}'), /true or false/],
    ['a number', '/', json('{"dryRun": 1}'), /true or false/],
    ['an array', '/', json('[true]'), /JSON object/],
    ['a form', '/', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'dryRun=1' }, /Content-Type: application\/json/],
    ['plain text', '/', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"dryRun": true}' }, /Content-Type: application\/json/],
    ['a contradiction', '/?dryRun=1', json('{"dryRun": false}'), /query says dryRun=true and the body says dryRun=false/],
    ['the other contradiction', '/?dryRun=0', json('{"dryRun": true}'), /query says dryRun=false and the body says dryRun=true/],
  ])('refuses %s in the body with 400, calling nothing', async (_, path, init, error) => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const response = await fetch(`${baseUrl}${path}`, init);
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error).toMatch(error);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('refuses a body that is not JSON though it says so, calling nothing', async () => {
    const response = await fetch(`${baseUrl}/`, json('{"dryRun": tru'));
    expect(response.status).toBe(400);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('keeps its config and clients across requests, counting each pass’s API calls on its own', async () => {
    fleet.seedConvergedFleet();
    const first: any = await (await fetch(`${baseUrl}/`, { method: 'POST' })).json();
    // The world changes between passes, as the next scheduled pass would find it.
    fleet.world.leases.delete([...fleet.world.leases.values()][0]!.leaseId);
    const second: any = await (await fetch(`${baseUrl}/`, { method: 'POST' })).json();
    expect(first.apiCalls).toEqual({ 'macservice.find': 1, 'swarming.ListBots': 2 });
    // find twice: the observation, and the re-read before its one create.
    expect(second.apiCalls).toEqual({ 'macservice.find': 2, 'swarming.ListBots': 2, 'macservice.create': 1 });
    expect(second.passId).not.toBe(first.passId);
  });

  it('answers 405 to anything but POST, without a pass', async () => {
    const response = await fetch(`${baseUrl}/`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(fleet.macService.requests).toEqual([]);
  });

  it('answers 500 when a pass fails, with no secret in the response', async () => {
    fleet.seedConvergedFleet();
    fleet.world.leases.delete([...fleet.world.leases.values()][0]!.leaseId);
    fleet.macService.inject('create', { kind: 'status', status: 500, body: `upstream said ${SECRETS.key}` });
    const response = await fetch(`${baseUrl}/`, { method: 'POST' });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text).failures).toEqual(['action-error']);
    for (const secret of Object.values(SECRETS)) {
      expect(text).not.toContain(secret);
      expect(stdout).not.toContain(secret);
    }
  });

  it('answers 200 when a vacate finds its lease already gone: three overlapping POSTs are not failures', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    fleet.macService.inject('vacate', { kind: 'status', status: 404 });
    const response = await fetch(`${baseUrl}/`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'ok', actions: { gone: 1, error: 0 } });
  });

  it('answers 500 without the API key in any encoding when MacService echoes it in an error', async () => {
    const key = SECRETS.apiKey;
    const forms = [
      encodeURIComponent(key),
      Buffer.from(key).toString('hex'),
      Buffer.from(key).toString('hex').toUpperCase(),
      Buffer.from(key).toString('base64'),
      Buffer.from(key).toString('base64url'),
      [...key].map((c) => `&#${c.charCodeAt(0)};`).join(''),
    ];
    fleet.macService.inject('find', { kind: 'status', status: 500, body: `upstream said: ${forms.join(' | ')}` });
    const response = await fetch(`${baseUrl}/`, { method: 'POST' });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body).error).toContain('upstream said: [secret] | [secret]');
    for (const form of forms) expect(body + stdout).not.toContain(form.slice(0, 16));
  });

  it('answers 500 when MacService cannot be read', async () => {
    fleet.macService.inject('find', { kind: 'status', status: 503 });
    const response = await fetch(`${baseUrl}/`, { method: 'POST' });
    expect(response.status).toBe(500);
    expect(((await response.json()) as any).failures).toEqual(['observation']);
    expect(mutations()).toEqual([]);
  });

  it('answers 500 naming the field for a bad config, and makes no API call', async () => {
    process.env.MAKEMAC_CONFIG = JSON.stringify({ ...fleet.configDocument(), policy: { bootGrace: 'soon' } });
    await resetInstance();
    const response = await fetch(`${baseUrl}/`, { method: 'POST' });
    expect(response.status).toBe(500);
    expect(((await response.json()) as any).error).toContain('policy.bootGrace: must be a duration');
    const logged = stdout.split('\n').filter((l) => l.includes('"config.error"')).map((l) => JSON.parse(l));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ severity: 'ERROR', event: 'config.error' });
    expect(logged[0].error).toContain('policy.bootGrace: must be a duration');
    expect(fleet.macService.requests).toEqual([]);
    expect(fleet.publicSwarming.requests).toEqual([]);
  });

  it('reads the trace id from X-Cloud-Trace-Context', () => {
    expect(traceOf('105445aa7843bc8bf206b12000100000/1;o=1', 'p')).toBe('projects/p/traces/105445aa7843bc8bf206b12000100000');
    expect(traceOf(undefined, 'p')).toBeUndefined();
    expect(traceOf('not-a-trace', 'p')).toBeUndefined();
  });
});
