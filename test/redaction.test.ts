// Known secret values are scrubbed from everything a pass writes or answers, even when a
// server echoes them in a shape no pattern would catch (no PEM markers, not base64).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../functions/cli';
import { buildClients } from '../shared/clients';
import { decisionRecord } from '../shared/decision-record';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { JsonLogger } from '../shared/log';
import { runPass } from '../shared/pass';
import { redactValues, SecretResolver } from '../shared/secrets';
import { CapturedStream } from './support/capture';
import { IMAGE_14, IMAGE_15, PUBLIC_HOST, SECRET_ENV, SECRETS, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';

const PLAIN_CERT = 'plain-cert-value-CERT4567';
const PLAIN_KEY = 'plain-key-value-KEY8901';
const ENV = { MAKEMAC_TEST_API_KEY: SECRETS.apiKey, MAKEMAC_TEST_CERT: PLAIN_CERT, MAKEMAC_TEST_KEY: PLAIN_KEY };

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(async () => {
  await fleet.close();
});

describe('redaction of known secret values', () => {
  it('scrubs values echoed by MacService and Swarming from logs, summary, plan and outcomes', async () => {
    // A deficit, so the cert and key are resolved by a create before the renewals run.
    fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15));
    const expiring = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 5 * 3_600_000);
    fleet.addBotFor(expiring);
    fleet.macService.inject('renew', { kind: 'status', status: 400, body: `bad request: cert ${PLAIN_CERT} key ${PLAIN_KEY}` });
    fleet.publicSwarming.inject({ kind: 'status', status: 400, grpcCode: 3, body: `invalid: api key ${SECRETS.apiKey} is not a token` });

    const stdout = new CapturedStream();
    const config = parseConfig(fleet.configDocument({ policy: { maxAttempts: 1 } }));
    const calls = new CallCounter();
    const secrets = new SecretResolver({ env: ENV });
    const result = await runPass({ config, clients: buildClients(config, { calls, secrets }), secrets, calls, logger: new JsonLogger(stdout, { passId: 'p', dryRun: false }) });

    // The scenario did what it should: the values were sent, and echoed back in errors.
    const create = fleet.macService.requests.find((r) => r.verb === 'create')!;
    expect(create.rawBody).toContain(PLAIN_KEY);
    const renew = result.outcomes.find((o) => o.action.kind === 'renew')!;
    expect(renew.outcome).toBe('error');
    expect(renew.error).toContain('cert [secret] key [secret]');
    expect(result.summary.blindHosts[0]!.reason).toContain('api key [secret] is not a token');

    const everything = stdout.text + JSON.stringify(result.summary) + JSON.stringify(decisionRecord(result));
    for (const value of [PLAIN_CERT, PLAIN_KEY, SECRETS.apiKey]) expect(everything).not.toContain(value);
  });

  it('leaves short values alone, so ordinary words are not blanked out', async () => {
    const secrets = new SecretResolver({ env: { SHORT: 'ok', LONG: 'a-long-secret-value' } });
    await secrets.resolve('env:SHORT');
    await secrets.resolve('env:LONG');
    expect(secrets.redact('ok: a-long-secret-value was sent')).toBe('ok: [secret] was sent');
  });
});

/**
 * The encodings a proxy or server may echo a value in, written out here independently of
 * secretForms so the test does not grade the code by its own answers.
 */
const ENCODINGS: [string, (value: string) => string][] = [
  ['URL-encoded', (v) => encodeURIComponent(v)],
  ['URL-encoded, lowercase hex', (v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
  ['form-encoded', (v) => new URLSearchParams({ v }).toString().slice(2)],
  ['every byte percent-encoded', (v) => [...Buffer.from(v)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')],
  ['base64', (v) => Buffer.from(v).toString('base64')],
  ['base64url', (v) => Buffer.from(v).toString('base64url')],
  ['hex', (v) => Buffer.from(v).toString('hex')],
  ['upper-case hex', (v) => Buffer.from(v).toString('hex').toUpperCase()],
  ['HTML entities by number', (v) => [...v].map((c) => `&#${c.codePointAt(0)};`).join('')],
  ['HTML entities in hex', (v) => [...v].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join('')],
  ['HTML-escaped', (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')],
  ['JSON-escaped', (v) => JSON.stringify(v).slice(1, -1)],
];

/** Longer than the 200-character excerpt of an error body, with markup, spaces and a newline. */
const KEY = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC+KEYBODY/secret<&>"quoted" ${'x'.repeat(150)}\n-----END PRIVATE KEY-----\n`;

describe('redaction of encoded secret values', () => {
  it.each(ENCODINGS)('scrubs a value echoed %s, and leaves the text around it', (_name, encode) => {
    const echoed = `error: got ${encode(KEY)} (and ${encode(SECRETS.apiKey)}) from you`;
    const redacted = redactValues(echoed, [KEY, SECRETS.apiKey]);
    expect(redacted).toMatch(/^error: got .*\[secret\].* \(and .*\[secret\].*\) from you$/);
    for (const value of [KEY, SECRETS.apiKey]) {
      const form = encode(value);
      for (let at = 0; at + 12 <= form.length; at += 6) expect(redacted).not.toContain(form.slice(at, at + 12));
    }
  });

  it('scrubs any value of 8 characters or more in every encoding, at any offset of a base64 text', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 60, unit: 'grapheme' }), fc.string({ maxLength: 5 }), fc.integer({ min: 0, max: ENCODINGS.length - 1 }), (value, prefix, index) => {
        const encode = ENCODINGS[index]![1];
        const base64Offset = Buffer.from(`${prefix}${value}`).toString('base64');
        for (const form of [encode(value)]) {
          const redacted = redactValues(`<<${form}>>`, [value]);
          expect(redacted).toBe('<<[secret]>>');
        }
        const inStream = redactValues(base64Offset, [value]);
        // Only the characters that also hold neighbouring bytes may stay.
        expect(inStream.replace('[secret]', '').length).toBeLessThanOrEqual(Math.ceil((prefix.length * 4) / 3) + 8);
      }),
      { numRuns: 300 },
    );
  });
});

describe('encoded secrets echoed by MacService, end to end', () => {
  let fleet: FakeFleet;
  let dir: string;
  beforeEach(async () => {
    fleet = await startFakeFleet();
    dir = mkdtempSync(join(tmpdir(), 'makemac-redaction-'));
  });
  afterEach(() => fleet.close());

  it.each(ENCODINGS)('a create refused with a body echoing the key %s: nothing of it in logs or --plan-out', async (_name, encode) => {
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const expiring = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 5 * 3_600_000);
    fleet.addBotFor(expiring);
    // The create echoes the key it was sent; the renew echoes the key too, which only the resolver knows.
    const body = JSON.stringify({ error: { code: 400, message: `invalid metadata value ${encode(KEY)} for golang.key; api key ${encode(SECRETS.apiKey)}` } });
    fleet.macService.inject('create', { kind: 'status', status: 400, body });
    fleet.macService.inject('renew', { kind: 'status', status: 400, body });
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(fleet.configDocument({ policy: { maxAttempts: 1, concurrency: 1 } })));
    const planOut = join(dir, 'plan.json');
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const code = await main(['reconcile', '--config', configFile, '--plan-out', planOut], { stdout, stderr, env: { ...SECRET_ENV, MAKEMAC_TEST_KEY: KEY } });

    expect(code).toBe(1);
    const everything = stdout.text + stderr.text + readFileSync(planOut, 'utf8');
    expect(everything).toContain('invalid metadata value [secret]');
    for (const value of [KEY, SECRETS.apiKey]) {
      const form = encode(value);
      for (let at = 0; at + 12 <= form.length; at += 6) expect(everything).not.toContain(form.slice(at, at + 12));
    }
  });
});
