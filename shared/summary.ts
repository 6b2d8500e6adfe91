// The pass summary: what the function answers, what `pass.summary` logs, what alerts read.
import type { Outcome } from './apply/executor';
import { RENEW_DURATION_SECONDS } from './fleet';
import type { Observation } from './observe';
import type { Brake, GroupStatus, Plan } from './plan/types';

export interface GroupSummary extends GroupStatus {
  created: number;
  vacated: number;
  renewed: number;
  failed: number;
  /**
   * healthy ÷ desired (1 when nothing is desired): the capacity alert's signal. Left out while
   * the group's host is blind: its health is unknown, not zero, and must not page anyone.
   */
  healthyRatio?: number;
}

/** Why a pass did not complete cleanly; each makes the CLI exit 1 and the function answer 500. */
export type PassFailure = 'observation' | 'blind-host' | 'brake' | 'action-error' | 'deadline' | 'interrupted';

export interface PassSummary {
  passId: string;
  startedAt: string;
  durationMs: number;
  dryRun: boolean;
  outcome: 'ok' | 'failed';
  failures: PassFailure[];
  /** Why observation failed, when it did. */
  error?: string;
  observed: {
    leases: number;
    managedLeases: number;
    /** Managed leases left alone because their entry in leases:find did not validate. */
    malformedLeases: number;
    /** Leases of other projects whose entry did not parse, skipped. */
    skippedLeases: number;
    /** Lease ids listed more than once with different content, left alone. */
    conflictingLeases: number;
    bots: number;
    strayBots: number;
    unparsedBots: number;
  } | null;
  blindHosts: { host: string; reason: string }[];
  brakes: Brake[];
  groups: GroupSummary[];
  /** `gone`: vacates whose lease was already gone. */
  actions: { planned: number; ok: number; gone: number; error: number; skipped: number; dryRun: number; deferred: number; refused: number };
  apiCalls: Record<string, number>;
  /** Hours until the first managed lease that is kept will expire, renewals of this pass included. */
  soonestExpiryHours: number | null;
}

export interface SummaryInput {
  passId: string;
  startedAt: number;
  finishedAt: number;
  dryRun: boolean;
  /** A SIGTERM or SIGINT cut the pass short. */
  interrupted?: boolean;
  apiCalls: Record<string, number>;
  observation: Observation | null;
  observationError?: string;
  plan: Plan | null;
  outcomes: Outcome[];
}

export function summarizePass(input: SummaryInput): PassSummary {
  const { observation, plan, outcomes } = input;
  const count = (kind: Outcome['outcome']) => outcomes.filter((o) => o.outcome === kind).length;
  const blindHosts = (observation?.hosts ?? []).filter((h) => h.blind).map((h) => ({ host: h.host, reason: h.blindReason ?? 'blind' }));
  const brakes = plan?.brakes ?? [];

  const failures: PassFailure[] = [];
  if (!observation || observation.leaseListSuspect !== null) failures.push('observation');
  if (blindHosts.length > 0) failures.push('blind-host');
  if (brakes.length > 0) failures.push('brake');
  if (count('error') > 0) failures.push('action-error');
  if (outcomes.some((o) => o.skipReason === 'deadline' || o.deadlineReached)) failures.push('deadline');
  if (input.interrupted) failures.push('interrupted');

  return {
    passId: input.passId,
    startedAt: new Date(input.startedAt).toISOString(),
    durationMs: input.finishedAt - input.startedAt,
    dryRun: input.dryRun,
    outcome: failures.length === 0 ? 'ok' : 'failed',
    failures,
    ...(input.observationError !== undefined ? { error: input.observationError } : {}),
    ...(observation?.leaseListSuspect ? { error: `MacService leases:find looks incomplete: ${observation.leaseListSuspect}` } : {}),
    observed: observation
      ? {
          leases: observation.leases.length,
          managedLeases: observation.leases.filter((l) => l.managedHost !== null).length,
          malformedLeases: observation.malformedLeases.length,
          skippedLeases: observation.skippedLeases,
          conflictingLeases: observation.conflictingLeases.length,
          bots: observation.hosts.reduce((sum, h) => sum + h.botCount, 0),
          strayBots: observation.strayBots.length,
          unparsedBots: observation.unparsedBots.length,
        }
      : null,
    blindHosts,
    brakes,
    groups: (plan?.groups ?? []).map((group) => groupSummary(group, outcomes)),
    actions: {
      planned: plan?.actions.length ?? 0,
      ok: count('ok'),
      gone: count('gone'),
      error: count('error'),
      skipped: count('skipped'),
      dryRun: count('dry-run'),
      deferred: plan?.deferred.length ?? 0,
      refused: plan?.refused.length ?? 0,
    },
    apiCalls: input.apiCalls,
    soonestExpiryHours: observation ? soonestExpiryHours(observation, plan, outcomes, input.finishedAt) : null,
  };
}

function groupSummary(group: GroupStatus, outcomes: Outcome[]): GroupSummary {
  const mine = outcomes.filter((o) => o.action.swarmingHost === group.swarmingHost && o.action.group === group.group);
  const done = (kind: string) => mine.filter((o) => o.action.kind === kind && o.outcome === 'ok').length;
  return {
    ...group,
    created: done('create'),
    vacated: done('vacate'),
    renewed: done('renew'),
    failed: mine.filter((o) => o.outcome === 'error').length,
    ...(group.unknown > 0 ? {} : { healthyRatio: group.desired === 0 ? 1 : Math.round((group.healthy / group.desired) * 1000) / 1000 }),
  };
}

function soonestExpiryHours(observation: Observation, plan: Plan | null, outcomes: Outcome[], now: number): number | null {
  // Evidence of a halted rollout is meant to expire: it is not a lease about to be lost.
  const vacated = new Set<string>(
    (plan?.deferred ?? []).flatMap((d) => (d.reason === 'evidence' && d.action.kind === 'vacate' ? [d.action.leaseId] : [])),
  );
  const renewed = new Set<string>();
  for (const o of outcomes) {
    if ((o.outcome !== 'ok' && o.outcome !== 'gone') || o.action.kind === 'create') continue;
    (o.action.kind === 'vacate' ? vacated : renewed).add(o.action.leaseId);
  }
  let soonest: number | null = null;
  for (const lease of observation.leases) {
    if (lease.managedHost === null || vacated.has(lease.leaseId)) continue;
    let expiresAt = lease.expiresAt ?? now;
    if (renewed.has(lease.leaseId)) expiresAt = Math.max(expiresAt, now + RENEW_DURATION_SECONDS * 1000);
    soonest = soonest === null ? expiresAt : Math.min(soonest, expiresAt);
  }
  return soonest === null ? null : Math.round(((soonest - now) / 3_600_000) * 100) / 100;
}
