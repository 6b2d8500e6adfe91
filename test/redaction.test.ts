// Known secret values are scrubbed from everything a pass writes or answers, even when a
// server echoes them in a shape no pattern would catch (no PEM markers, not base64).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildClients } from '../shared/clients';
import { decisionRecord } from '../shared/decision-record';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { JsonLogger } from '../shared/log';
import { runPass } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { CapturedStream } from './support/capture';
import { IMAGE_14, IMAGE_15, PUBLIC_HOST, SECRETS, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';

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
