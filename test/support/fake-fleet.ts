// A world served by the fake MacService and two fake Swarming servers on loopback, plus a
// config document pointing at them: the setting for end-to-end tests of the CLI and function.
import { randomUUID } from 'node:crypto';
import { managedProjectName, METADATA } from '../../shared/fleet';
import { startMacServiceFake } from '../../shared/sim/macservice-fake';
import { startSwarmingFake } from '../../shared/sim/swarming-fake';
import { macBotDimensions, World, type WorldLease } from '../../shared/sim/world';

export const PUBLIC_HOST = 'chromium-swarm.appspot.com';
export const SECURITY_HOST = 'chrome-swarming.appspot.com';
export const PUBLIC_POOL = 'luci.golang.shared-workers';
export const SECURITY_POOL = 'luci.golang.security-try-workers';
export const IMAGE_14 = '1'.repeat(64);
export const IMAGE_15 = '2'.repeat(64);
export const IMAGE_OLD = '9'.repeat(64);

/** Known values, so tests can scan every byte of output for them. */
export const SECRETS = {
  apiKey: 'AIzaTEST-api-key-0123456789',
  cert: '-----BEGIN CERTIFICATE-----CERTBODY0123-----END CERTIFICATE-----',
  key: '-----BEGIN PRIVATE KEY-----KEYBODY4567-----END PRIVATE KEY-----',
};

export const SECRET_ENV = {
  MAKEMAC_TEST_API_KEY: SECRETS.apiKey,
  MAKEMAC_TEST_CERT: SECRETS.cert,
  MAKEMAC_TEST_KEY: SECRETS.key,
};

export async function startFakeFleet(options: { now?: () => number; echoMetadata?: boolean; refuseUnknownMetadata?: boolean } = {}) {
  const world = new World(options.now ? { now: options.now } : {});
  const macService = await startMacServiceFake({
    world,
    apiKey: SECRETS.apiKey,
    echoMetadata: options.echoMetadata ?? true,
    ...(options.refuseUnknownMetadata ? { refuseUnknownMetadata: true } : {}),
  });
  const publicSwarming = await startSwarmingFake({ world, host: PUBLIC_HOST });
  const securitySwarming = await startSwarmingFake({ world, host: SECURITY_HOST });

  const configDocument = (overrides: Record<string, unknown> = {}) => ({
    macService: { url: macService.url, apiKey: 'env:MAKEMAC_TEST_API_KEY', customer: 'golang' },
    swarming: [
      {
        host: PUBLIC_HOST,
        url: publicSwarming.url,
        pool: PUBLIC_POOL,
        groups: [
          { hostname: 'darwin-amd64-14', image: IMAGE_14, count: 3, cert: 'env:MAKEMAC_TEST_CERT', key: 'env:MAKEMAC_TEST_KEY' },
          { hostname: 'darwin-arm64-15', image: IMAGE_15, count: 2, cert: 'env:MAKEMAC_TEST_CERT', key: 'env:MAKEMAC_TEST_KEY' },
        ],
      },
      {
        host: SECURITY_HOST,
        url: securitySwarming.url,
        pool: SECURITY_POOL,
        groups: [
          { hostname: 'darwin-amd64-14-security', image: IMAGE_14, count: 1, cert: 'env:MAKEMAC_TEST_CERT', key: 'env:MAKEMAC_TEST_KEY' },
        ],
      },
    ],
    ...overrides,
  });

  /** A managed lease created `ageMs` ago with the secrets in its metadata, as MacService echoes them. */
  // 90 minutes old by default: past boot grace, and not yet within renewBefore (22h) of expiry.
  const addManagedLease = (host: string, hostname: string, image: string, ageMs = 90 * 60_000): WorldLease => {
    const now = world.now();
    return world.addLease({
      leaseId: randomUUID(),
      projectName: managedProjectName(host),
      image,
      createdAt: now - ageMs,
      expiresAt: now - ageMs + 86_400_000,
      metadata: [
        { key: METADATA.swarming, value: host },
        { key: METADATA.hostname, value: hostname },
        { key: METADATA.cert, value: SECRETS.cert },
        { key: METADATA.key, value: SECRETS.key },
        { key: METADATA.created, value: new Date(now - ageMs).toISOString() },
      ],
    });
  };

  const addBotFor = (lease: WorldLease, bot: { isDead?: boolean; taskId?: string; quarantined?: boolean; lastSeenAt?: number } = {}) => {
    const host = lease.metadata.find((m) => m.key === METADATA.swarming)!.value;
    const hostname = lease.metadata.find((m) => m.key === METADATA.hostname)!.value;
    const pool = host === PUBLIC_HOST ? PUBLIC_POOL : SECURITY_POOL;
    return world.addBot(host, {
      botId: `${hostname}--${lease.leaseId}.golang.c3.macservice.goog`,
      dimensions: macBotDimensions(pool, '14.5'),
      ...bot,
    });
  };

  /** Every group at its count of healthy leases on its current image. */
  const seedConvergedFleet = () => {
    const groups: [string, string, string, number][] = [
      [PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3],
      [PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15, 2],
      [SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 1],
    ];
    for (const [host, hostname, image, count] of groups) {
      for (let i = 0; i < count; i++) addBotFor(addManagedLease(host, hostname, image));
    }
  };

  return {
    world,
    macService,
    publicSwarming,
    securitySwarming,
    configDocument,
    addManagedLease,
    addBotFor,
    seedConvergedFleet,
    close: async () => {
      await Promise.all([macService.close(), publicSwarming.close(), securitySwarming.close()]);
    },
  };
}

export type FakeFleet = Awaited<ReturnType<typeof startFakeFleet>>;
