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
import { vacateBudget } from './plan/limits';

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
  /**
   * Why MacService's lease list looks cut short (live bots of ours whose leases it lacks), or
   * null. While set, nothing is created or vacated; the leases it did list are still renewed.
   */
  leaseListSuspect: string | null;
  /** Lease ids `find` listed more than once with different content: left alone this pass. */
  conflictingLeases: { leaseId: string; copies: number }[];
  /** One entry per listed Swarming host (configured, then retired with a pool), in config order. */
  hosts: HostObservation[];
  /** MacService bots whose lease is not among the customer's leases. */
  strayBots: {
    host: string;
    botId: string;
    leaseId: string;
    isDead: boolean;
    /** Its hostname is one of a configured group of the host that lists it: a bot of ours. */
    ownHostname: boolean;
  }[];
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

export interface FindFilter {
  /** One project's leases only. */
  projectName?: string;
  /** Leases left out unread: a re-read wants only the new ones. */
  except?: ReadonlySet<string>;
  /** Cancels the read. */
  signal?: AbortSignal;
}

export interface LeaseFinder {
  /** Every lease of the customer, or of one project only. */
  find(filter?: FindFilter): Promise<LeaseList>;
}

export interface BotLister {
  listBots(signal?: AbortSignal): Promise<Bot[]>;
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
  return joinFleet(config, list.leases, await Promise.all(botReads), now(), list);
}

/**
 * Live bots of ours (a configured group's hostname, this customer) whose lease `find` lacks are
 * evidence that its answer was cut short: acting on it would create a second fleet and ignore
 * the first. Some are normal: the bots of leases vacated by the last pass linger until Swarming
 * marks them dead, and a pass vacates at most its vacate budget. So the list is suspect when
 * such bots outnumber the budget of a fleet counting them, or, for a host the list holds no
 * lease of at all, when there are more than brakeMinimum of them.
 */
function suspectLeaseList(config: Config, leases: ObservedLease[], strayBots: Observation['strayBots']): string | null {
  const ours = strayBots.filter((bot) => !bot.isDead && bot.ownHostname);
  for (const server of config.swarming) {
    if (server.groups.every((group) => group.count === 0)) continue;
    if (leases.some((lease) => lease.managedHost === server.host)) continue;
    const onHost = ours.filter((bot) => bot.host === server.host).length;
    if (onHost > config.policy.brakeMinimum) {
      return `it holds no lease of ${server.host}, whose Swarming lists ${onHost} live bots of leases missing from it`;
    }
  }
  const managed = leases.filter((lease) => lease.managedHost !== null).length;
  const budget = vacateBudget(config.policy, managed + ours.length);
  if (ours.length > budget) {
    return `Swarming lists ${ours.length} live bots of configured groups whose leases it lacks, more than the ${budget} one pass may vacate`;
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
  unreadable: Pick<LeaseList, 'malformed' | 'skipped'> = { malformed: [], skipped: 0 },
): Observation {
  const customer = config.macService.customer;
  const owned = ownedSwarmingHosts(config);
  const copies = new Map<string, Lease[]>();
  for (const lease of leases) copies.set(lease.leaseId, [...(copies.get(lease.leaseId) ?? []), lease]);
  const byLeaseId = new Map<string, ObservedLease>();
  const conflictingLeases: Observation['conflictingLeases'] = [];
  for (const [leaseId, listed] of [...copies].sort(([a], [b]) => compareStrings(a, b))) {
    // Identical copies are one lease. Copies that disagree (on the tag, say) leave it unknown
    // whose the lease is: it is neither acted on nor counted this pass.
    if (listed.length > 1 && new Set(listed.map(leaseFingerprint)).size > 1) {
      conflictingLeases.push({ leaseId, copies: listed.length });
      continue;
    }
    byLeaseId.set(leaseId, { ...listed[0]!, managedHost: ownedHost(listed[0]!, customer, owned), bot: null });
  }
  const conflicting = new Set(conflictingLeases.map((c) => c.leaseId));
  const malformedIds = new Set(unreadable.malformed.map((lease) => lease.leaseId));
  const ownHostnames = new Map(config.swarming.map((server) => [server.host, new Set(server.groups.map((g) => g.hostname))]));

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
      if (conflicting.has(parsed.leaseId)) continue;
      const lease = byLeaseId.get(parsed.leaseId);
      if (!lease) {
        // A malformed lease's bot belongs to a lease that exists: it is no evidence of a short list.
        if (malformedIds.has(parsed.leaseId)) continue;
        const ownHostname = ownHostnames.get(read.host)?.has(parsed.hostname) ?? false;
        strayBots.push({ host: read.host, botId: bot.botId, leaseId: parsed.leaseId, isDead: bot.isDead, ownHostname });
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
    let latestSeenAt: number | null = null;
    for (const { lastSeenAt } of read?.bots ?? []) {
      if (lastSeenAt !== null && (latestSeenAt === null || lastSeenAt > latestSeenAt)) latestSeenAt = lastSeenAt;
    }
    if (!read || read.error !== null) {
      return { host: server.host, blind: true, blindReason: `bot list failed: ${read?.error ?? 'not read'}`, botCount, latestSeenAt };
    }
    // A list without a bot for any of the host's leases that should have booted (empty, or
    // holding only bots of leases not in the lease list) is more likely a Swarming fault (wrong
    // pool, ACL change, datastore trouble) than every VM failing at once: all would be `missing`.
    const pastGrace = [...byLeaseId.values()].filter((lease) => {
      if (lease.managedHost !== server.host) return false;
      const age = leaseAgeMs(lease, now);
      return age === null || age >= config.policy.bootGrace;
    });
    if (pastGrace.length > 0 && pastGrace.every((lease) => lease.bot === null)) {
      const macBots = macBotsByHost.get(server.host) ?? 0;
      return {
        host: server.host,
        blind: true,
        blindReason:
          macBots === 0
            ? `listed no MacService bots while ${pastGrace.length} managed lease(s) are past boot grace`
            : `listed no bot of any of its ${pastGrace.length} managed lease(s) past boot grace (only ${macBots} bot(s) of other leases)`,
        botCount,
        latestSeenAt,
      };
    }
    return { host: server.host, blind: false, blindReason: null, botCount, latestSeenAt };
  });

  const observed = [...byLeaseId.values()];
  return {
    leases: observed,
    leaseListSuspect: suspectLeaseList(config, observed, strayBots),
    conflictingLeases,
    hosts,
    strayBots,
    unparsedBots,
    malformedLeases: unreadable.malformed,
    skippedLeases: unreadable.skipped,
  };
}

/** Everything `find` says about a lease, in a comparable form. */
function leaseFingerprint(lease: Lease): string {
  const metadata = Object.entries(lease.metadata).sort(([a], [b]) => compareStrings(a, b));
  return JSON.stringify({ ...lease, metadata });
}
