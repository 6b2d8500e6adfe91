import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SecretResolver } from '../shared/secrets';
import { startSecretManagerFake, type SecretManagerFake } from './support/secret-manager-fake';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

let fake: SecretManagerFake;
const resolvers: SecretResolver[] = [];

beforeAll(async () => {
  fake = await startSecretManagerFake({
    'projects/makemac-prod/secrets/darwin-amd64-14-cert/versions/latest': CERT,
    'projects/symbolic-datum-552/secrets/darwin-amd64-14-key/versions/latest': 'the-key',
    'projects/other/secrets/api-key/versions/3': 'key-v3',
    'projects/makemac-test/secrets/from-env-project/versions/latest': 'env-project',
    'projects/from-client/secrets/from-client-project/versions/latest': 'client-project',
  });
});
afterAll(() => fake.close());
afterEach(async () => {
  await Promise.all(resolvers.splice(0).map((r) => r.close()));
  fake.requests.length = 0;
});

/** A resolver whose client talks to the fake, and a count of clients made. */
function resolver(options: { env?: Record<string, string | undefined>; projectId?: string; clientProjectId?: string } = {}) {
  const made = { clients: 0 };
  const r = new SecretResolver({
    env: options.env ?? {},
    projectId: options.projectId,
    client: () => {
      made.clients++;
      return new SecretManagerServiceClient({ ...fake.clientOptions, projectId: options.clientProjectId });
    },
  });
  resolvers.push(r);
  return { r, made };
}

describe('SecretResolver', () => {
  it('reads secret:NAME from the configured project, as the real client sends it', async () => {
    const { r } = resolver({ projectId: 'makemac-prod' });
    await expect(r.resolve('secret:darwin-amd64-14-cert')).resolves.toBe(CERT);
    expect(fake.requests).toEqual(['projects/makemac-prod/secrets/darwin-amd64-14-cert/versions/latest']);
  });

  it('reads secret:PROJECT/NAME and a full version name as given', async () => {
    const { r } = resolver({ projectId: 'unused' });
    await expect(r.resolve('secret:symbolic-datum-552/darwin-amd64-14-key')).resolves.toBe('the-key');
    await expect(r.resolve('secret:projects/other/secrets/api-key/versions/3')).resolves.toBe('key-v3');
    expect(fake.requests).toEqual([
      'projects/symbolic-datum-552/secrets/darwin-amd64-14-key/versions/latest',
      'projects/other/secrets/api-key/versions/3',
    ]);
  });

  it('takes the default project from GOOGLE_CLOUD_PROJECT, else from the client', async () => {
    await expect(resolver({ env: { GOOGLE_CLOUD_PROJECT: 'makemac-test' } }).r.resolve('secret:from-env-project')).resolves.toBe('env-project');
    await expect(resolver({ clientProjectId: 'from-client' }).r.resolve('secret:from-client-project')).resolves.toBe('client-project');
  });

  it('asks Secret Manager once for two resolves of the same reference, even concurrent ones', async () => {
    const { r, made } = resolver({ projectId: 'makemac-prod' });
    const [a, b] = await Promise.all([r.resolve('secret:darwin-amd64-14-cert'), r.resolve('secret:darwin-amd64-14-cert')]);
    await r.resolve('secret:darwin-amd64-14-cert');
    expect([a, b]).toEqual([CERT, CERT]);
    expect(fake.requests).toHaveLength(1);
    expect(made.clients).toBe(1);
  });

  it('names the reference, not a value, when the secret does not exist, and asks again next time', async () => {
    const { r } = resolver({ projectId: 'makemac-prod' });
    const error = await r.resolve('secret:darwin-amd64-15-cert').catch((err: Error) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('secret:darwin-amd64-15-cert');
    expect((error as Error).message).toContain('NOT_FOUND');

    fake.secrets.set('projects/makemac-prod/secrets/darwin-amd64-15-cert/versions/latest', 'now-there');
    await expect(r.resolve('secret:darwin-amd64-15-cert')).resolves.toBe('now-there');
    expect(fake.requests).toHaveLength(2);
    fake.secrets.delete('projects/makemac-prod/secrets/darwin-amd64-15-cert/versions/latest');
  });

  it('reads env: references and names the variable, never a value, when it is unset', async () => {
    const { r, made } = resolver({ env: { MACSERVICE_KEY: 'abc123' } });
    await expect(r.resolve('env:MACSERVICE_KEY')).resolves.toBe('abc123');
    await expect(r.resolve('env:MISSING_KEY')).rejects.toThrow(/env:MISSING_KEY: environment variable MISSING_KEY is not set/);
    expect(made.clients).toBe(0);
  });

  it('returns literals as they are and never creates a client for them', async () => {
    const { r, made } = resolver();
    await expect(r.resolve('plain-api-key')).resolves.toBe('plain-api-key');
    await expect(r.resolve('-----BEGIN PRIVATE KEY-----x')).resolves.toBe('-----BEGIN PRIVATE KEY-----x');
    await r.close();
    expect(made.clients).toBe(0);
    expect(fake.requests).toEqual([]);
  });

  it('rejects a malformed secret reference by name', async () => {
    const { r } = resolver({ projectId: 'p' });
    await expect(r.resolve('secret:a/b/c')).rejects.toThrow('secret:a/b/c: malformed secret reference');
  });

  it('without Google credentials, fails the reference cleanly instead of crashing the process', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/makemac-test-credentials.json';
    try {
      // The real client, as production makes it: no injected client, no loopback endpoint.
      const r = new SecretResolver({ env: {} });
      await expect(r.resolve('secret:some-project/some-secret')).rejects.toThrow(
        /^secret:some-project\/some-secret: no Google credentials for Secret Manager/,
      );
      await r.close();
      // An unhandled rejection from the library would fail this test file; give it the chance.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });
});
