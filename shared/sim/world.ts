// The simulated fleet that the fake MacService and fake Swarming servers serve. Both fakes
// read and write the same World, so a lease created through one shows up, once its VM
// "boots", as a bot in the other. Tests and the simulator edit it directly.

export interface WorldLease {
  leaseId: string;
  customerName: string;
  projectName: string;
  subCustomerName: string;
  /** Epoch ms on the world's clock. */
  expiresAt: number;
  createdAt: number;
  image: string;
  profile: string;
  accessLevel: string;
  /** In the order the client sent them. */
  metadata: { key: string; value: string }[];
}

export interface WorldBot {
  botId: string;
  isDead: boolean;
  quarantined: boolean;
  maintenanceMsg: string;
  /** Non-empty ⇔ busy. */
  taskId: string;
  taskName: string;
  firstSeenAt: number;
  lastSeenAt: number;
  /** Values sorted ascending per key, keys sorted, as Swarming stores them. */
  dimensions: { key: string; value: string[] }[];
}

export interface WorldOptions {
  /** The world's clock in epoch ms; defaults to the real clock. */
  now?: () => number;
}

export class World {
  readonly leases = new Map<string, WorldLease>();
  /** Bots per Swarming host, keyed by bot id. */
  readonly bots = new Map<string, Map<string, WorldBot>>();
  now: () => number;

  constructor(options: WorldOptions = {}) {
    this.now = options.now ?? (() => Date.now());
  }

  addLease(lease: Partial<WorldLease> & Pick<WorldLease, 'leaseId'>): WorldLease {
    const now = this.now();
    const full: WorldLease = {
      customerName: 'golang',
      projectName: '',
      subCustomerName: '',
      expiresAt: now + 86_400_000,
      createdAt: now,
      image: '',
      profile: 'V1_MEDIUM_VM',
      accessLevel: 'GOLANG_OSS',
      metadata: [],
      ...lease,
    };
    this.leases.set(full.leaseId, full);
    return full;
  }

  /** Drops leases whose expiry has passed, as MacService reclaims them. Returns their ids. */
  expireLeases(): string[] {
    const now = this.now();
    const gone: string[] = [];
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt <= now) {
        this.leases.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  hostBots(host: string): Map<string, WorldBot> {
    let bots = this.bots.get(host);
    if (!bots) {
      bots = new Map();
      this.bots.set(host, bots);
    }
    return bots;
  }

  addBot(host: string, bot: Partial<WorldBot> & Pick<WorldBot, 'botId'>): WorldBot {
    const now = this.now();
    const full: WorldBot = {
      isDead: false,
      quarantined: false,
      maintenanceMsg: '',
      taskId: '',
      taskName: '',
      firstSeenAt: now,
      lastSeenAt: now,
      dimensions: [],
      ...bot,
    };
    full.dimensions = normalizeDimensions(full.dimensions);
    this.hostBots(host).set(full.botId, full);
    return full;
  }

  removeBot(host: string, botId: string): void {
    this.bots.get(host)?.delete(botId);
  }

  metadataValue(lease: WorldLease, key: string): string | undefined {
    return lease.metadata.find((entry) => entry.key === key)?.value;
  }
}

/** Keys sorted, values sorted and deduplicated: the order Swarming returns them in. */
function normalizeDimensions(dimensions: { key: string; value: string[] }[]): { key: string; value: string[] }[] {
  const byKey = new Map<string, Set<string>>();
  for (const { key, value } of dimensions) {
    const values = byKey.get(key) ?? new Set<string>();
    value.forEach((v) => values.add(v));
    byKey.set(key, values);
  }
  return [...byKey.keys()]
    .sort()
    .map((key) => ({ key, value: [...byKey.get(key)!].sort() }));
}

/** The dimensions a MacService bot in `pool` reports for macOS `version` (e.g. "14.5"). */
export function macBotDimensions(pool: string, version: string, cpu = 'x86-64'): { key: string; value: string[] }[] {
  const [major] = version.split('.');
  return normalizeDimensions([
    { key: 'pool', value: [pool] },
    { key: 'os', value: ['Mac', `Mac-${major}`, `Mac-${version}`] },
    { key: 'cpu', value: [cpu] },
  ]);
}
