// Whole passes — clean, with every mutation failing, with observation failing, dry, through
// the CLI's --plan-out and through the Cloud Function — with known values for the API key and
// the bot cert and key, which the world's leases echo in metadata and fault bodies echo too.
// Every byte of output is scanned for them, and for a marker metadata value that must not be
// logged either. Also: the API key goes to MacService only.
import './support/function-env';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../functions/cli';
import { resetInstance } from '../functions/reconcile';
import { decisionRecord } from '../shared/decision-record';
import { METADATA } from '../shared/fleet';
import { redactKeyMaterial } from '../shared/http';
import { JsonLogger, TextLogger, teeLogger } from '../shared/log';
import { CapturedStream } from './support/capture';
import { startFunctionServer } from './support/function-server';
import { IMAGE_14, IMAGE_OLD, PUBLIC_HOST, SECRET_ENV, SECRETS, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { mutationsOf, runFleetPass, type FleetPassOptions } from './support/pass-harness';
import { HOUR } from './builders';

/** A bot key stored base64-encoded, as metadata often carries PEM: no armour marks it. */
const RAW_KEY = Buffer.from('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIRAWKEYBODYfor+makemac+tests\n-----END EC PRIVATE KEY-----\n').toString('base64');
/** A metadata value that is no secret, but lease metadata is never logged at all. */
const MARKER = 'metadata-marker-6b1d0c';
const ENV = { ...SECRET_ENV, MAKEMAC_TEST_RAW_KEY: RAW_KEY };

/** Every secret, and the distinctive inside of each PEM block, in case only the armour is stripped. */
const NEEDLES = [SECRETS.apiKey, SECRETS.cert, SECRETS.key, 'CERTBODY0123', 'KEYBODY4567', RAW_KEY, MARKER];
const ECHO = `echo: ${SECRETS.apiKey} ${SECRETS.cert} ${SECRETS.key} key=${RAW_KEY}`;
/** Swarming never receives the API key (asserted below), so it cannot echo it; the rest it might. */
const SWARMING_ECHO = `echo: ${SECRETS.cert} ${SECRETS.key} key=${RAW_KEY}`;

function expectClean(text: string, where: string): void {
  expect(text.length, `${where} is empty: the scan would prove nothing`).toBeGreaterThan(0);
  for (const needle of NEEDLES) {
    const at = text.indexOf(needle);
    expect(at, `${where} contains ${JSON.stringify(needle)}: …${text.slice(Math.max(0, at - 80), at + 40)}…`).toBe(-1);
  }
}

let fleet: FakeFleet;

/** Config: the security group's key is the unarmoured RAW_KEY. */
function document(policy: Record<string, unknown> = {}) {
  const doc = fleet.configDocument({ policy: { maxAttempts: 2, ...policy } });
  doc.swarming[1]!.groups[0]!.key = 'env:MAKEMAC_TEST_RAW_KEY';
  return doc;
}

/** A fleet with every kind of work: dead, missing, outdated, expiring leases and two deficits. */
function seedWork(): void {
  fleet.seedConvergedFleet();
  const amd = [...fleet.world.leases.values()].filter((l) => l.metadata.some((m) => m.value === 'darwin-amd64-14'));
  fleet.world.leases.delete(amd[0]!.leaseId);
  fleet.world.leases.delete(amd[1]!.leaseId);
  fleet.world.leases.delete([...fleet.world.leases.values()].find((l) => l.projectName.endsWith(SECURITY_HOST))!.leaseId);
  const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
  fleet.addBotFor(dead, { isDead: true, lastSeenAt: Date.now() - 2 * HOUR });
  fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_OLD, 3 * HOUR);
  fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR), { taskId: 'task-1' });
  // Every lease echoes the secrets (and the marker) in metadata; the security one the raw key.
  for (const lease of fleet.world.leases.values()) {
    lease.metadata.push({ key: 'team.note', value: MARKER });
    if (lease.projectName.endsWith(SECURITY_HOST)) lease.metadata.find((m) => m.key === METADATA.key)!.value = RAW_KEY;
  }
  fleet.world.addLease({
    leaseId: '0f0f0f0f-0000-4000-8000-00000000000a',
    projectName: 'not-makemac',
    metadata: [
      { key: METADATA.key, value: SECRETS.key },
      { key: 'team.note', value: MARKER },
    ],
  });
}

/** A pass with both log formats captured; returns every output of it as text. */
async function passOutput(options: FleetPassOptions = {}) {
  const json = new CapturedStream();
  const text = new CapturedStream();
  const logger = teeLogger(new JsonLogger(json, { passId: 'leak-test', dryRun: false }), new TextLogger(text, 'DEBUG'));
  const result = await runFleetPass(fleet, { document: document(), env: ENV, logger, ...options });
  return {
    result,
    outputs: {
      'JSON log': json.text,
      'text log': text.text,
      'pass summary': JSON.stringify(result.summary),
      'decision record (--plan-out)': JSON.stringify(decisionRecord(result)),
      'action errors': result.outcomes.map((o) => o.error ?? '').join('\n') || '(none)',
    } as Record<string, string>,
  };
}

function expectAllClean(outputs: Record<string, string>): void {
  for (const [where, text] of Object.entries(outputs)) expectClean(text, where);
}

/** Swarming and everything but MacService never see the API key; loopback gets no token. */
function expectKeyOnlyToMacService(): void {
  expect(fleet.macService.requests.length).toBeGreaterThan(0);
  for (const request of fleet.macService.requests) expect(request.headers['x-goog-api-key']).toBe(SECRETS.apiKey);
  const swarming = [...fleet.publicSwarming.requests, ...fleet.securitySwarming.requests];
  expect(swarming.length).toBeGreaterThan(0);
  for (const request of swarming) {
    expect(request.headers['x-goog-api-key']).toBeUndefined();
    expect(request.headers.authorization).toBeUndefined();
    const sent = JSON.stringify({ headers: request.headers, body: request.body });
    for (const needle of NEEDLES) expect(sent).not.toContain(needle);
  }
}

describe('secrets in complete passes', () => {
  beforeEach(async () => {
    fleet = await startFakeFleet();
    seedWork();
  });
  afterEach(() => fleet.close());

  it('a pass that does everything successfully', async () => {
    const { result, outputs } = await passOutput();
    expect(result.summary.outcome).toBe('ok');
    expect(mutationsOf(fleet).map((r) => r.verb).sort()).toEqual(['create', 'create', 'renew', 'vacate', 'vacate']);
    // The creates did carry the secrets — to MacService, where they belong.
    const creates = mutationsOf(fleet).filter((r) => r.verb === 'create');
    expect(creates.map((r) => r.body.instanceSpecification.metadata[3].value).sort()).toEqual([SECRETS.key, RAW_KEY].sort());
    expectAllClean(outputs);
    expectKeyOnlyToMacService();
  });

  it.each([
    ['a 400 echoing the request', 400],
    ['a 500 echoing the request (retried)', 500],
    ['a 409 echoing the request', 409],
  ])('every mutation failing with %s', async (_name, status) => {
    for (const verb of ['create', 'renew', 'vacate'] as const) {
      fleet.macService.inject(verb, { kind: 'status', status, body: JSON.stringify({ error: { code: status, message: ECHO } }) });
    }
    const { result, outputs } = await passOutput();
    expect(result.summary.failures).toEqual(['action-error']);
    expect(result.outcomes.map((o) => o.outcome)).toEqual(['error', 'error', 'error', 'error', 'error']);
    expectAllClean(outputs);
    expectKeyOnlyToMacService();
  });

  it('every mutation answered with a garbage 200 that echoes the secrets', async () => {
    for (const verb of ['create', 'renew'] as const) {
      fleet.macService.inject(verb, { kind: 'garbage', body: JSON.stringify({ pendingLease: { leaseId: 7, echo: ECHO }, expires: ECHO }) });
    }
    fleet.macService.inject('vacate', { kind: 'garbage', body: `[${JSON.stringify(ECHO)}]` });
    const { result, outputs } = await passOutput();
    expect(result.outcomes.filter((o) => o.outcome === 'error')).toHaveLength(5);
    expectAllClean(outputs);
  });

  it('mutations whose connection is cut after they were applied', async () => {
    for (const verb of ['create', 'renew', 'vacate'] as const) fleet.macService.inject(verb, { kind: 'drop-after-apply' });
    const { outputs } = await passOutput({ document: document({ maxAttempts: 1 }) });
    expectAllClean(outputs);
  });

  it.each([
    ['a 500 echoing the secrets', { kind: 'status' as const, status: 500, body: ECHO }],
    ['a 403 echoing the secrets', { kind: 'status' as const, status: 403, body: JSON.stringify({ error: { message: ECHO } }) }],
    ['a non-JSON 200 echoing the secrets', { kind: 'garbage' as const, body: `<html>${ECHO}</html>` }],
    ['an invalid 200 carrying the secrets', { kind: 'garbage' as const, body: JSON.stringify({ instances: [{ lease: { leaseId: SECRETS.key }, instanceSpecification: { metadata: [{ key: RAW_KEY, value: 7 }] } }] }) }],
    ['a truncated 200 cut inside a secret', { kind: 'garbage' as const, body: `{"instances":[{"lease":{"leaseId":"${SECRETS.key.slice(0, 40)}` }],
  ])('observation failing with %s', async (_name, fault) => {
    fleet.macService.inject('find', fault);
    const { result, outputs } = await passOutput();
    expect(result.summary.failures).toEqual(['observation']);
    expect(mutationsOf(fleet)).toEqual([]);
    expectAllClean(outputs);
  });

  it.each([
    ['a 500 without a code echoing the secrets', { kind: 'status' as const, status: 500, body: SWARMING_ECHO }],
    ['an UNAVAILABLE echoing the secrets', { kind: 'status' as const, status: 503, grpcCode: 14, body: SWARMING_ECHO }],
    ['a PERMISSION_DENIED echoing the secrets', { kind: 'status' as const, status: 403, grpcCode: 7, body: SWARMING_ECHO }],
    ['an HTML page echoing the secrets', { kind: 'status' as const, status: 502, body: `<html><body><p>${SWARMING_ECHO}</p></body></html>` }],
    ['a garbage 200 echoing the secrets', { kind: 'garbage' as const, body: `)]}'\n{"items":[{"botId":"x","lastSeenTs":${JSON.stringify(SWARMING_ECHO)}}]}` }],
  ])('a Swarming host failing with %s', async (_name, fault) => {
    fleet.publicSwarming.inject(fault);
    const { result, outputs } = await passOutput();
    expect(result.summary.blindHosts.map((h) => h.host)).toEqual([PUBLIC_HOST]);
    expectAllClean(outputs);
  });

  it('a dry run', async () => {
    const { result, outputs } = await passOutput({ forceDryRun: true });
    expect(result.outcomes.map((o) => o.outcome)).toEqual(['dry-run', 'dry-run', 'dry-run', 'dry-run', 'dry-run']);
    expect(mutationsOf(fleet)).toEqual([]);
    expectAllClean(outputs);
  });

  it('the CLI with --plan-out, failing mutations and text and JSON logs', async () => {
    fleet.macService.inject('create', { kind: 'status', status: 400, body: ECHO });
    fleet.macService.inject('vacate', { kind: 'status', status: 500, body: ECHO });
    const dir = mkdtempSync(join(tmpdir(), 'makemac-leaks-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(document()));
    for (const format of ['json', 'text']) {
      const stdout = new CapturedStream();
      const stderr = new CapturedStream();
      const planOut = join(dir, `plan-${format}.json`);
      const code = await main(['reconcile', '--config', join(dir, 'config.json'), '--plan-out', planOut, '--log-format', format], { stdout, stderr, env: ENV });
      expect(code).toBe(1);
      expectClean(stdout.text, `CLI ${format} stdout`);
      for (const needle of NEEDLES) expect(stderr.text).not.toContain(needle);
      const plan = readFileSync(planOut, 'utf8');
      expectClean(plan, `--plan-out (${format} run)`);
      expect(JSON.parse(plan).actions.length).toBeGreaterThan(0);
    }
  });
});

describe('secrets in the Cloud Function', () => {
  let server: Awaited<ReturnType<typeof startFunctionServer>>;
  let baseUrl: string;
  let stdout: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    server = await startFunctionServer();
    baseUrl = server.url;
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    fleet = await startFakeFleet();
    seedWork();
    Object.assign(process.env, ENV, { MAKEMAC_CONFIG: JSON.stringify(document({ maxAttempts: 1 })) });
    await resetInstance();
    stdout = '';
    const capture = (chunk: unknown) => {
      stdout += String(chunk);
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await resetInstance();
    for (const key of [...Object.keys(ENV), 'MAKEMAC_CONFIG']) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    await fleet.close();
  });

  it.each([
    ['succeeds', () => undefined],
    ['fails every mutation with echoing bodies', () => ['create', 'renew', 'vacate'].forEach((verb) => fleet.macService.inject(verb as 'create', { kind: 'status', status: 400, body: ECHO }))],
    ['cannot observe MacService', () => fleet.macService.inject('find', { kind: 'status', status: 500, body: ECHO })],
    ['has a Swarming host echoing the secrets', () => fleet.securitySwarming.inject({ kind: 'status', status: 500, body: SWARMING_ECHO })],
  ])('a pass that %s: neither the HTTP answer nor the logs hold a secret', async (_name, arrange) => {
    arrange();
    for (const query of ['', '?dryRun=1']) {
      const response = await fetch(`${baseUrl}/${query}`, { method: 'POST' });
      const body = await response.text();
      expect(JSON.parse(body).passId).toMatch(/^[0-9a-f]{8}$/);
      expectClean(body, `HTTP answer${query}`);
      let headers = '';
      response.headers.forEach((value, name) => (headers += `${name}: ${value}\n`));
      for (const needle of NEEDLES) expect(headers).not.toContain(needle);
    }
    expectClean(stdout, 'function logs');
    expectKeyOnlyToMacService();
  });
});

describe('redactKeyMaterial, the last line for server text in error messages', () => {
  it('drops PEM blocks, also cut off, and long base64 runs, and keeps ids and image hashes', () => {
    const text = `lease 39b47cf6-2aaa-4c80-b9cb-b800844fb104 image ${IMAGE_14} ${SECRETS.key} key=${RAW_KEY} tail -----BEGIN CERTIFICATE-----MIIBcut`;
    const redacted = redactKeyMaterial(text);
    expect(redacted).toBe(`lease 39b47cf6-2aaa-4c80-b9cb-b800844fb104 image ${IMAGE_14} [PEM redacted] key=[base64 redacted] tail [PEM redacted]`);
  });

  it('leaves no base64 secret of 40 characters or more in any text around it', () => {
    const base64 = fc.stringMatching(/^[A-Za-z0-9+/]{40,120}={0,2}$/).filter((s) => /[G-Zg-z+/]/.test(s));
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), base64, fc.string({ maxLength: 30 }), (before, secret, after) => {
        expect(redactKeyMaterial(`${before} ${secret} ${after}`)).not.toContain(secret);
        expect(redactKeyMaterial(`${before}"${secret}\\n${after}`)).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });
});
