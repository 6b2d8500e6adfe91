// Observation: everything one pass reads, joined into one view of the fleet.
// Reads only; the planner decides from this and nothing else.
import { listedSwarmingHosts, ownedSwarmingHosts, type Config } from './config/schema';
import {
  compareStrings,
  leaseAgeMs,
  ownedHost,
  parseBotId,
  type Bot,
  type Lease,
} from './fleet';
import type { MalformedLease } from './macservice/wire';

export interface ObservedLease extends Lease {
  /** The configured or retired host its `makemac/<host>` tag names; null for leases makemac does not own (see ownedHost). */
  managedHost: string | null;
  bot: ObservedBot | null;
}

export interface ObservedBot extends Bot {
  /** The Swarming host that listed it. */
  host: string;
  /** The bot id's prefix before `--`. */
  hostname: string;
}

export interface HostObservation {
  host: string;
  /** Nothing on this host may be vacated for health: its bot list failed or is implausible. */
  blind: boolean;
  blindReason: string | null;
  /** Bots listed (all of them, parsed or not). */
  botCount: number;
  /**
   * The latest last-seen time of its bots, by Swarming's clock: the reference a bot's silence is
   * measured against, so a skew between makemac's clock and Swarming's cannot make every bot
   * look silent. null when no bot was listed.
   */
  latestSeenAt: number | null;
}

export interface Observation {
  /** All leases of the customer, managed or not, sorted by lease id. */
  leases: ObservedLease[];
  /** One entry per listed Swarming host (configured, then retired with a pool), in config order. */
  hosts: HostObservation[];
  /** MacService bots whose lease is not among the customer's leases. */
  strayBots: { host: string; botId: string; leaseId: string; isDead: boolean }[];
  /** Bots whose id is not a MacService bot id of this customer (ignored). */
  unparsedBots: { host: string; botId: string }[];
  /** Managed leases whose entry in `find` did not validate: left alone, not planned for. */
  malformedLeases: MalformedLease[];
  /** Leases of other projects whose entry in `find` did not parse (skipped). */
  skippedLeases: number;
}

/** What `leases:find` gave: the leases a pass uses, and what it could not read. */
export interface LeaseList {
  leases: Lease[];
  malformed: MalformedLease[];
  skipped: number;
}

export interface LeaseFinder {
  /** Every lease of the customer, or of one project only. */
  find(filter?: { projectName?: string }): Promise<LeaseList>;
}

export interface BotLister {
  listBots(): Promise<Bot[]>;
}

export interface ObservationSources {
  macService: LeaseFinder;
  /** One lister per listed Swarming host (see listedSwarmingHosts), keyed by host. */
  swarming: ReadonlyMap<string, BotLister>;
}

export class ObservationError extends Error {
  override name = 'ObservationError';
}

/**
 * Reads all leases and, in parallel, every host's bots, then joins them. A failed lease read
 * fails the observation (nothing may be mutated); a failed bot read only blinds its host.
 */
export async function observe(config: Config, sources: ObservationSources, now: () => number): Promise<Observation> {
  const botReads = listedSwarmingHosts(config).map(async (server) => {
    const lister = sources.swarming.get(server.host);
    if (!lister) throw new Error(`no Swarming client for ${server.host}`);
    try {
      return { host: server.host, bots: await lister.listBots(), error: null };
    } catch (err) {
      return { host: server.host, bots: [] as Bot[], error: (err as Error).message };
    }
  });
  let list: LeaseList;
  try {
    list = await sources.macService.find();
  } catch (err) {
    await Promise.allSettled(botReads);
    throw new ObservationError(`MacService leases:find failed: ${(err as Error).message}`);
  }
  const joined = joinFleet(config, list.leases, await Promise.all(botReads), now());
  // A malformed lease's bot belongs to a lease that exists: it is no evidence of a short list.
  const malformedIds = new Set(list.malformed.map((lease) => lease.leaseId));
  const observation: Observation = {
    ...joined,
    strayBots: joined.strayBots.filter((bot) => !malformedIds.has(bot.leaseId)),
    malformedLeases: list.malformed,
    skippedLeases: list.skipped,
  };
  const implausible = implausibleLeaseList(config, observation);
  if (implausible !== null) throw new ObservationError(`MacService leases:find looks incomplete: ${implausible}`);
  return observation;
}

/**
 * A lease list with no lease of a host that should have some, while that host's Swarming
 * lists live bots of leases missing from it, is more likely a MacService fault (an empty or
 * cut-short answer) than real: acting on it would create a second fleet. A few such bots are
 * normal (bots of leases vacated moments ago linger until Swarming marks them dead), so the
 * check wants more than brakeMinimum of them.
 */
function implausibleLeaseList(config: Config, observation: Observation): string | null {
  for (const server of config.swarming) {
    if (server.groups.every((group) => group.count === 0)) continue;
    if (observation.leases.some((lease) => lease.managedHost === server.host)) continue;
    const liveStrays = observation.strayBots.filter((bot) => bot.host === server.host && !bot.isDead).length;
    if (liveStrays > config.policy.brakeMinimum) {
      return `it holds no lease of ${server.host}, whose Swarming lists ${liveStrays} live bots of leases missing from it`;
    }
  }
  return null;
}

export interface HostBotRead {
  host: string;
  bots: Bot[];
  /** Why the read failed, or null. */
  error: string | null;
}

/** The pure half of observe(): join leases to bots and decide which hosts are blind. */
export function joinFleet(
  config: Config,
  leases: Lease[],
  reads: HostBotRead[],
  now: number,
): Observation {
  const customer = config.macService.customer;
  const owned = ownedSwarmingHosts(config);
  const byLeaseId = new Map<string, ObservedLease>();
  for (const lease of [...leases].sort((a, b) => compareStrings(a.leaseId, b.leaseId))) {
    // A duplicated lease id collapses to its first entry, as in Go makemac's map.
    if (!byLeaseId.has(lease.leaseId)) byLeaseId.set(lease.leaseId, { ...lease, managedHost: ownedHost(lease, customer, owned), bot: null });
  }

  const strayBots: Observation['strayBots'] = [];
  const unparsedBots: Observation['unparsedBots'] = [];
  const macBotsByHost = new Map<string, number>();
  for (const read of reads) {
    for (const bot of read.bots) {
      const parsed = parseBotId(bot.botId, customer);
      if (!parsed) {
        unparsedBots.push({ host: read.host, botId: bot.botId });
        continue;
      }
      macBotsByHost.set(read.host, (macBotsByHost.get(read.host) ?? 0) + 1);
      const lease = byLeaseId.get(parsed.leaseId);
      if (!lease) {
        strayBots.push({ host: read.host, botId: bot.botId, leaseId: parsed.leaseId, isDead: bot.isDead });
        continue;
      }
      // A bot on the lease's own host wins over one that connected elsewhere.
      if (lease.bot === null || (lease.bot.host !== lease.managedHost && read.host === lease.managedHost)) {
        lease.bot = { ...bot, host: read.host, hostname: parsed.hostname };
      }
    }
  }

  const hosts = listedSwarmingHosts(config).map((server): HostObservation => {
    const read = reads.find((r) => r.host === server.host);
    const botCount = read?.bots.length ?? 0;
    const seen = (read?.bots ?? []).flatMap((bot) => (bot.lastSeenAt === null ? [] : [bot.lastSeenAt]));
    const latestSeenAt = seen.length === 0 ? null : Math.max(...seen);
    if (!read || read.error !== null) {
      return { host: server.host, blind: true, blindReason: `bot list failed: ${read?.error ?? 'not read'}`, botCount, latestSeenAt };
    }
    // An empty but successful list while leases should have booted is more likely a Swarming
    // fault (wrong pool, ACL change, datastore trouble) than every VM dying at once.
    const pastGrace = [...byLeaseId.values()].filter((lease) => {
      if (lease.managedHost !== server.host) return false;
      const age = leaseAgeMs(lease, now);
      return age === null || age >= config.policy.bootGrace;
    }).length;
    if ((macBotsByHost.get(server.host) ?? 0) === 0 && pastGrace > 0) {
      return {
        host: server.host,
        blind: true,
        blindReason: `listed no MacService bots while ${pastGrace} managed lease(s) are past boot grace`,
        botCount,
        latestSeenAt,
      };
    }
    return { host: server.host, blind: false, blindReason: null, botCount, latestSeenAt };
  });

  return { leases: [...byLeaseId.values()], hosts, strayBots, unparsedBots, malformedLeases: [], skippedLeases: 0 };
}
