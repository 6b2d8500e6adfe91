// A rotated secret reaches the next pass of a warm function instance: the instance keeps one
// resolver and one set of clients across passes, as functions/reconcile.ts does.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { MemoryLogger } from '../shared/log';
import { runPass } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import { SECRETS, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { startSecretManagerFake, type SecretManagerFake } from './support/secret-manager-fake';

const API_KEY_VERSION = 'projects/makemac-test/secrets/macservice-api-key/versions/latest';
const ROTATED_KEY = 'AIzaROTATED-api-key-9876543210';

let fleet: FakeFleet;
let secretManager: SecretManagerFake;
beforeEach(async () => {
  fleet = await startFakeFleet();
  secretManager = await startSecretManagerFake({ [API_KEY_VERSION]: SECRETS.apiKey });
});
afterEach(async () => {
  await Promise.all([fleet.close(), secretManager.close()]);
});

it('after a rotation (the old key refused), the next pass of the same instance reads and sends the new key', async () => {
  fleet.seedConvergedFleet();
  const config = parseConfig(
    fleet.configDocument({ macService: { url: fleet.macService.url, apiKey: 'secret:makemac-test/macservice-api-key', customer: 'golang' } }),
  );
  const secrets = new SecretResolver({ env: {}, client: () => new SecretManagerServiceClient(secretManager.clientOptions) });
  const calls = new CallCounter();
  const instance = { config, secrets, calls, clients: buildClients(config, { calls, secrets }), logger: new MemoryLogger() };
  try {
    const first = await runPass(instance);
    expect(first.summary.outcome).toBe('ok');

    secretManager.secrets.set(API_KEY_VERSION, ROTATED_KEY);
    fleet.macService.rotateApiKey(ROTATED_KEY);
    const second = await runPass(instance);

    expect(second.summary.outcome).toBe('ok');
    expect(secretManager.requests.filter((name) => name === API_KEY_VERSION)).toHaveLength(2);
    expect(fleet.macService.requests.at(-1)!.headers['x-goog-api-key']).toBe(ROTATED_KEY);
  } finally {
    await secrets.close();
  }
});
