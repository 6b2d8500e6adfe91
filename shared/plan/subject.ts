// A subject: one managed lease with everything the planner's sections ask about it, and the
// orders in which leases of a set are vacated.
import type { Config, Group, SwarmingServer } from '../config/schema';
import { compareStrings } from '../fleet';
import type { HostObservation, Observation, ObservedLease } from '../observe';
import { attributeLease, type Attribution } from './attribution';
import type { Verdict } from './types';
import { classifyLease, isHealthyCapacity } from './verdict';
import { VERDICTS } from './vocabulary';

export interface Subject {
  lease: ObservedLease;
  host: string;
  attribution: Attribution;
  verdict: Verdict;
  /** Its host's bot list cannot be trusted: nothing of it is vacated (see deferBlindHosts). */
  blind: boolean;
  /** Why its host is blind; null when it is not. */
  blindReason: string | null;
  /** Adds to its group's healthy capacity (see isHealthyCapacity). */
  capacity: boolean;
  /** A live bot running a task: never vacated, only waited for. */
  busy: boolean;
}

/** Every managed lease, judged. A configured host missing from the observation is blind, never healthy. */
export function managedSubjects(config: Config, observation: Observation, now: number): Subject[] {
  const observed = new Map(observation.hosts.map((h) => [h.host, h]));
  return observation.leases
    .filter((lease) => lease.managedHost !== null)
    .sort((a, b) => compareStrings(a.leaseId, b.leaseId))
    .map((lease) => {
      const host = lease.managedHost!;
      const attribution = attributeLease(config, lease);
      const hostObservation: HostObservation | null =
        observed.get(host) ??
        (attribution.server === null ? null : { host, blind: true, blindReason: 'not observed this pass', botCount: 0, latestSeenAt: null });
      const verdict = classifyLease(lease, attribution, hostObservation, config.policy, now);
      const bot = lease.bot;
      return {
        lease,
        host,
        attribution,
        verdict,
        blind: hostObservation?.blind ?? false,
        blindReason: hostObservation?.blind ? (hostObservation.blindReason ?? 'no reason given') : null,
        capacity: isHealthyCapacity(verdict, lease),
        busy: verdict.state !== 'unknown' && bot !== null && !bot.isDead && bot.taskId !== null,
      };
    });
}

/** Serves nothing: no bot yet or any more, or a bot that takes no tasks. */
export function servesNothing(subject: Subject): boolean {
  const bucket = VERDICTS[subject.verdict.state].bucket;
  return bucket === 'booting' || bucket === 'unhealthy';
}

/**
 * Which lease of a set goes first: booting ones (youngest first), then those serving nothing
 * (missing, dead, quarantined, in maintenance, unknown), then idle, then busy (which wait).
 */
function vacateRank(subject: Subject): number {
  if (subject.busy) return 3;
  if (VERDICTS[subject.verdict.state].bucket === 'booting') return 0;
  return subject.capacity ? 2 : 1;
}

export function byVacateOrder(a: Subject, b: Subject): number {
  return vacateRank(a) - vacateRank(b) || byAge(a, b);
}

/** Youngest first (unknown age counts as oldest), then lease id. */
export function byAge(a: Subject, b: Subject): number {
  const age = (s: Subject) => s.verdict.ageMs ?? Number.POSITIVE_INFINITY;
  return age(a) - age(b) || compareStrings(a.lease.leaseId, b.lease.leaseId);
}

/** Configured groups in plain string order of host, then hostname: the order sections walk them. */
export function configuredGroups(config: Config): { server: SwarmingServer; group: Group }[] {
  return [...config.swarming]
    .sort((a, b) => compareStrings(a.host, b.host))
    .flatMap((server) =>
      [...server.groups].sort((a, b) => compareStrings(a.hostname, b.hostname)).map((group) => ({ server, group })),
    );
}

/** An image as details show it: its first 12 hex characters. */
export function shortImage(image: string): string {
  return image === '' ? '(none)' : image.slice(0, 12);
}
