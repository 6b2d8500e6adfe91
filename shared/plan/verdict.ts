// Verdicts: what each managed lease's bot tells about it, judged before any action is chosen,
// so the plan explains every lease and not only those acted on.
import type { Policy } from '../config/schema';
import { formatDuration } from '../duration';
import { leaseAgeMs, type Bot } from '../fleet';
import type { HostObservation, ObservedLease } from '../observe';
import type { Attribution } from './attribution';
import type { Verdict, VerdictState } from './types';
import { VERDICTS } from './vocabulary';

/**
 * `host` is the observation of the lease's managed host; null when its bots were not listed (a
 * retired host without a pool), so a missing bot there proves nothing.
 */
export function classifyLease(
  lease: ObservedLease,
  attribution: Attribution,
  host: HostObservation | null,
  policy: Policy,
  now: number,
): Verdict {
  const ageMs = leaseAgeMs(lease, now);
  const { state, note } = judge(lease, ageMs, host, policy, now);
  return {
    leaseId: lease.leaseId,
    swarmingHost: lease.managedHost ?? '',
    group: attribution.group?.hostname ?? null,
    image: lease.image,
    current: attribution.current,
    state,
    note,
    ageMs,
    expiresInMs: lease.expiresAt === null ? null : lease.expiresAt - now,
    botId: lease.bot?.botId ?? null,
  };
}

function judge(
  lease: ObservedLease,
  ageMs: number | null,
  host: HostObservation | null,
  policy: Policy,
  now: number,
): { state: VerdictState; note: string } {
  // A blind host's bot list cannot be trusted either way: an absent bot proves nothing.
  if (host?.blind) return { state: 'unknown', note: `host ${host.host} is blind: ${host.blindReason ?? 'no reason given'}` };
  const bot = lease.bot;
  if (bot === null) {
    if (host === null) return { state: 'unknown', note: `host ${lease.managedHost} is retired without a pool, so its bots are not listed` };
    // Unknown age means over an hour old (see leaseAgeMs): past any sensible boot grace.
    if (ageMs !== null && ageMs < policy.bootGrace) return { state: 'booting', note: `no bot yet, ${formatDuration(ageMs)} after creation` };
    return {
      state: 'missing',
      note: ageMs === null ? 'no bot, created over 1h ago' : `no bot ${formatDuration(ageMs)} after creation`,
    };
  }
  if (bot.isDead) return { state: 'dead', note: `dead, ${lastSeen(bot, now)}` };
  // Swarming waits 10 min before it calls a silent bot dead; a bot polls far more often than
  // silentAfter, so its silence is judged sooner and it is replaced sooner (see plan.ts). It is
  // measured against the host's freshest bot, by Swarming's clock, not against makemac's.
  const latest = host?.latestSeenAt ?? null;
  if (bot.lastSeenAt !== null && latest !== null && latest - bot.lastSeenAt >= policy.silentAfter) {
    return { state: 'dead', note: `silent for ${formatDuration(latest - bot.lastSeenAt)} while its host's other bots report; Swarming has not marked it dead yet` };
  }
  if (bot.quarantined) return { state: 'quarantined', note: `quarantined, ${bot.taskId === null ? 'idle' : `running task ${bot.taskId}`}` };
  const maintenance = bot.inMaintenance ? ', in maintenance' : '';
  if (bot.taskId !== null) return { state: 'healthy-busy', note: `running task ${bot.taskId}${maintenance}` };
  return { state: 'healthy-idle', note: `idle${maintenance}` };
}

export function lastSeen(bot: Bot, now: number): string {
  return bot.lastSeenAt === null ? 'never seen' : `last seen ${formatDuration(now - bot.lastSeenAt)} ago`;
}

/** A dead bot is vacated only once silent for deadAfter: Swarming marks restarting bots dead too. */
export function isDeadLongEnough(bot: Bot, policy: Policy, now: number): boolean {
  return bot.lastSeenAt === null || now - bot.lastSeenAt >= policy.deadAfter;
}

/**
 * Whether the lease adds to its group's healthy capacity. A bot in maintenance keeps its
 * `healthy-*` state (nothing is wrong with the VM, and it is not vacated for health) but takes
 * no new tasks, so it is not capacity: the rollout and the excess order treat it as unhealthy.
 */
export function isHealthyCapacity(verdict: Verdict, lease: ObservedLease): boolean {
  return VERDICTS[verdict.state].bucket === 'healthy' && !lease.bot?.inMaintenance;
}
