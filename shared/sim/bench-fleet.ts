// The fleets `makemac bench` measures: production's group shape scaled to any size, with a
// chosen share of leases needing action in the pass, served by the fakes with a fixed latency.
import { createHash } from 'node:crypto';
import { MAX_GROUP_COUNT } from '../config/schema';
import { managedProjectName, METADATA } from '../fleet';
import { MacServiceClient } from '../macservice/client';
import { SwarmingClient } from '../swarming/client';
import { botDimensions, HOUR_MS, MINUTE_MS, rngStream } from './fleet-model';
import { startMacServiceFake, type MacServiceFake } from './macservice-fake';
import { BASE_GROUPS, POOLS } from './scenarios';
import { startSwarmingFake, type SwarmingFake } from './swarming-fake';
import { World } from './world';

export const BENCH_API_KEY = 'bench-api-key';

/** Placeholder PEM blocks, and blocks of the size of a real bot cert and RSA-2048 key. */
function pem(label: string, base64Chars: number): string {
  const body = createHash('sha512').update(label).digest('base64').repeat(Math.ceil(base64Chars / 88)).slice(0, base64Chars);
  return `-----BEGIN ${label}-----\n${body.replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
}
const SMALL_SECRETS = { cert: pem('CERTIFICATE', 16), key: pem('PRIVATE KEY', 12) };
const REAL_SIZE_SECRETS = { cert: pem('CERTIFICATE', 1_500), key: pem('PRIVATE KEY', 1_620) };

/**
 * How the leases needing action in a pass split, per unit of the action fraction: mostly
 * renewals (the expiry spread a fleet of 23h renewals settles into), some health vacates and a
 * deficit. At a fraction of 0.11: 1% dead, 0.5% missing, 0.5% quarantined, 1% short, 8% renewals.
 */
const ACTION_MIX = { dead: 1 / 11, missing: 0.5 / 11, quarantined: 0.5 / 11, deficit: 1 / 11, renew: 8 / 11 } as const;
/** Of the healthy bots, the share running a task. */
const BUSY_SHARE = 0.4;

export interface BenchFleetOptions {
  size: number;
  /** Share of leases needing an action this pass (0 to 1). */
  actionFraction: number;
  /** All healthy: only the renewals of the action fraction are due. */
  steady: boolean;
  /** Bot cert and key of real size in every lease's metadata (`find` then carries ~3.5 KB a lease). */
  realSizeMetadata: boolean;
}

export interface BenchGroup {
  host: string;
  hostname: string;
  image: string;
  count: number;
}

export function actionShares(fraction: number) {
  return Object.fromEntries(Object.entries(ACTION_MIX).map(([key, share]) => [key, share * fraction])) as Record<keyof typeof ACTION_MIX, number>;
}

/**
 * Production's group shape (scenarios.ts BASE_GROUPS), scaled to `size` leases. A scaled group
 * above the config's MAX_GROUP_COUNT is split into parts with their own hostname and image, as
 * an operator would have to.
 */
export function benchGroups(size: number): BenchGroup[] {
  const total = BASE_GROUPS.reduce((n, g) => n + g.count, 0);
  let left = size;
  return BASE_GROUPS.flatMap((g, i) => {
    const count = i === BASE_GROUPS.length - 1 ? left : Math.round((g.count / total) * size);
    left -= count;
    const parts = Math.max(1, Math.ceil(count / MAX_GROUP_COUNT));
    return Array.from({ length: parts }, (_, part) => ({
      host: g.host,
      hostname: parts === 1 ? g.hostname : `${g.hostname}-part${part + 1}`,
      image: parts === 1 ? g.image : createHash('sha256').update(`${g.image}/${part}`).digest('hex'),
      count: Math.floor(count / parts) + (part < count % parts ? 1 : 0),
    }));
  });
}

/** A fleet of `options.size` leases as a pass meets it. */
export function buildBenchWorld(options: BenchFleetOptions): { world: World; groups: BenchGroup[] } {
  const world = new World();
  const now = world.now();
  const shares = actionShares(options.actionFraction);
  const secrets = options.realSizeMetadata ? REAL_SIZE_SECRETS : SMALL_SECRETS;
  const rng = rngStream(options.size, options.steady ? 'bench-steady' : 'bench-actions');
  const groups = benchGroups(options.size);
  let serial = 0;
  for (const group of groups) {
    const leases = options.steady ? group.count : group.count - Math.round(group.count * shares.deficit);
    for (let i = 0; i < leases; i++) {
      serial += 1;
      const roll = options.steady ? 1 : rng();
      const dead = roll < shares.dead;
      const missing = !dead && roll < shares.dead + shares.missing;
      const quarantined = !dead && !missing && roll < shares.dead + shares.missing + shares.quarantined;
      const createdAt = missing ? now - 3 * HOUR_MS : now - Math.round((3 + rng() * 200) * HOUR_MS);
      // Renewals due: expiry inside renewBefore (22h); the rest renewed a little while ago.
      const renewDue = rng() < shares.renew;
      const expiresInMinutes = renewDue ? 21 * 60 + 1 + rng() * 58 : 22 * 60 + 5 + rng() * 54;
      const lease = world.addLease({
        leaseId: `${serial.toString(16).padStart(8, '0')}-0000-4000-a000-${Math.floor(rng() * 2 ** 48).toString(16).padStart(12, '0')}`,
        projectName: managedProjectName(group.host),
        image: group.image,
        createdAt,
        expiresAt: now + Math.round(expiresInMinutes * MINUTE_MS),
        metadata: [
          { key: METADATA.swarming, value: group.host },
          { key: METADATA.hostname, value: group.hostname },
          { key: METADATA.cert, value: secrets.cert },
          { key: METADATA.key, value: secrets.key },
          { key: METADATA.created, value: new Date(createdAt).toISOString() },
        ],
      });
      if (missing) continue;
      const busy = !dead && !quarantined && rng() < BUSY_SHARE;
      world.addBot(group.host, {
        botId: `${group.hostname}--${lease.leaseId}.golang.c3.macservice.goog`,
        isDead: dead,
        quarantined,
        taskId: busy ? `6c${serial.toString(16).padStart(12, '0')}10` : '',
        firstSeenAt: createdAt + 10 * MINUTE_MS,
        lastSeenAt: dead ? now - 2 * HOUR_MS : now,
        dimensions: botDimensions(POOLS[group.host]!, group.hostname),
      });
    }
  }
  return { world, groups };
}

export interface BenchFakes {
  macService: MacServiceFake;
  swarming: SwarmingFake[];
  /** The config document a reconciler of this fleet runs with. */
  configDocument(concurrency: number): Record<string, unknown>;
  /** Bots each host lists (its ListBots pages). */
  botsPerHost(): Record<string, number>;
  close(): Promise<void>;
}

/** The fakes serving `world`, every call answered `latencyMs` after it arrives. */
export async function startBenchFakes(world: World, groups: BenchGroup[], latencyMs: number, realSizeMetadata: boolean): Promise<BenchFakes> {
  const secrets = realSizeMetadata ? REAL_SIZE_SECRETS : SMALL_SECRETS;
  const macService = await startMacServiceFake({ world, apiKey: BENCH_API_KEY, responseTimeMs: latencyMs });
  const hosts = [...new Set(groups.map((g) => g.host))];
  const swarming = await Promise.all(hosts.map((host) => startSwarmingFake({ world, host, responseTimeMs: latencyMs })));
  // A server in production is warm: one untimed read of each, by the real clients, before the measured pass.
  await Promise.all([
    new MacServiceClient({ url: macService.url, apiKey: async () => BENCH_API_KEY, customer: 'golang', timeoutMs: 60_000 }).find(),
    ...hosts.map((host, i) => new SwarmingClient({ host, url: swarming[i]!.url, pool: POOLS[host]!, timeoutMs: 60_000 }).listBots()),
  ]);
  macService.requests.length = 0;
  swarming.forEach((fake) => (fake.requests.length = 0));
  return {
    macService,
    swarming,
    configDocument: (concurrency) => ({
      macService: { url: macService.url, apiKey: BENCH_API_KEY, customer: 'golang' },
      swarming: hosts.map((host, i) => ({
        host,
        url: swarming[i]!.url,
        pool: POOLS[host],
        groups: groups.filter((g) => g.host === host).map((g) => ({ hostname: g.hostname, image: g.image, count: g.count, cert: secrets.cert, key: secrets.key })),
      })),
      policy: { concurrency },
    }),
    botsPerHost: () => Object.fromEntries(hosts.map((host) => [host, world.hostBots(host).size])),
    close: async () => {
      await Promise.all([macService.close(), ...swarming.map((fake) => fake.close())]);
    },
  };
}
