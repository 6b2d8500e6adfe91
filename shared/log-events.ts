// One builder per log event. Field names are public: log-based metrics, alerts and the
// README name them; log-contract.ts declares them, and each builder is checked against it.
import type { Outcome } from './apply/executor';
import { formatDuration } from './duration';
import { taggedHost } from './fleet';
import type { EventFields, LogEvent } from './log-contract';
import type { LogEntry, Severity } from './log';
import type { MalformedLease } from './macservice/wire';
import type { Brake, Deferred, Refused } from './plan/types';
import type { GroupSummary, PassSummary } from './summary';

export function actionEntry(result: Outcome): LogEntry {
  const { action, outcome } = result;
  const lease = action.kind === 'create' ? (result.createdLeaseId ?? null) : action.leaseId;
  const subject =
    action.kind === 'create'
      ? `a ${action.group} lease on ${action.swarmingHost}${lease ? ` (${lease})` : ''}`
      : `lease ${action.leaseId} (${action.group ?? 'no group'} on ${action.swarmingHost})`;
  const verb = action.kind;
  const sentence = {
    ok: `${capitalize(pastTense(verb))} ${subject}: ${action.detail}.`,
    gone: `Found ${subject} already gone when vacating it (someone else did), as wanted: ${action.detail}.`,
    'dry-run': `Would ${verb} ${subject} (dry run): ${action.detail}.`,
    skipped: `Skipped: ${verb} ${subject}: ${result.error ?? 'not started'}.`,
    error: `Failed to ${verb} ${subject} after ${result.attempts} attempt(s): ${result.error}.`,
  }[outcome];
  const unstamped = result.unstamped ? ' It carries no makemac.created stamp: MacService refused that metadata key this pass.' : '';
  const severity: Severity = outcome === 'error' ? 'ERROR' : outcome === 'skipped' ? 'WARNING' : action.kind === 'renew' ? 'INFO' : 'NOTICE';
  return entry(`lease.${action.kind}`, severity, sentence + unstamped, {
    leaseId: lease,
    reason: action.reason,
    swarmingHost: action.swarmingHost,
    group: action.group,
    image: action.image,
    outcome,
    detail: action.detail,
    attempts: result.attempts,
    durationMs: result.durationMs,
    ...(result.error !== undefined ? { error: result.error } : {}),
    ...(result.unstamped ? { stamped: false } : {}),
  });
}

/**
 * One entry per deferred vacate or renewal, but one per group and reason for deferred creates:
 * a count raised by hundreds would otherwise log hundreds of identical lines every pass.
 */
export function deferredEntries(deferred: readonly Deferred[]): LogEntry[] {
  const creates = new Map<string, { entry: Deferred; count: number }>();
  const entries: LogEntry[] = [];
  for (const entry of deferred) {
    if (entry.action.kind !== 'create') {
      entries.push(deferredEntry(entry, 1));
      continue;
    }
    const key = `${entry.action.swarmingHost}\n${entry.action.group}\n${entry.reason}`;
    const seen = creates.get(key);
    if (seen) seen.count += 1;
    else creates.set(key, { entry, count: 1 });
  }
  for (const { entry, count } of creates.values()) entries.push(deferredEntry(entry, count));
  return entries;
}

function deferredEntry(deferred: Deferred, count: number): LogEntry {
  const { action } = deferred;
  const subject =
    action.kind === 'create'
      ? `${count === 1 ? 'a create' : `${count} creates`} for ${action.group}`
      : `${action.kind} of lease ${action.leaseId}`;
  return entry('action.deferred', 'INFO', `Deferred ${subject} (${action.reason}) to a later pass: ${deferred.detail}.`, {
      action: action.kind,
      reason: action.reason,
      deferral: deferred.reason,
      count,
      leaseId: action.kind === 'create' ? null : action.leaseId,
      swarmingHost: action.swarmingHost,
      group: action.group,
      detail: deferred.detail,
  });
}

export function refusedEntry(refused: Refused): LogEntry {
  const { action } = refused;
  return entry('action.refused', 'WARNING', `Refused to vacate lease ${action.leaseId} (${action.reason}): ${refused.detail}.`, {
    action: action.kind,
    reason: action.reason,
    refusal: refused.reason,
    leaseId: action.leaseId,
    swarmingHost: action.swarmingHost,
    group: action.group,
    detail: refused.detail,
  });
}

export function brakeEntry(brake: Brake): LogEntry {
  return entry(
    'safety.brake',
    'ERROR',
    `Safety brake on ${brake.swarmingHost}: ${brake.wanted} health vacates wanted, limit ${brake.limit} ` +
      `of ${brake.managedLeases} managed leases; none were done. Check Swarming and the images before acting by hand.`,
    { swarmingHost: brake.swarmingHost, wanted: brake.wanted, limit: brake.limit, managedLeases: brake.managedLeases },
  );
}

export function observeErrorEntry(source: 'macservice' | 'swarming', error: string, swarmingHost?: string): LogEntry {
  const what =
    source === 'macservice'
      ? 'Could not read leases from MacService; nothing will be changed this pass'
      : `Swarming host ${swarmingHost} is blind this pass; none of its leases will be vacated, renewals and creates go on`;
  return entry('observe.error', 'ERROR', `${what}: ${error}`, { source, ...(swarmingHost ? { swarmingHost } : {}), error });
}

/**
 * A managed lease whose entry in leases:find does not validate: nothing is done to it on bad
 * data. ERROR when that means it goes without a renewal it needs (or its expiry is unknown).
 */
export function malformedLeaseEntry(lease: MalformedLease, renewalDue: boolean): LogEntry {
  const id = lease.leaseId === '' ? 'with no lease id' : lease.leaseId;
  const consequence = renewalDue ? 'it is not renewed and may expire' : 'no renewal is due for it yet';
  return entry(
    'lease.malformed',
    renewalDue ? 'ERROR' : 'WARNING',
    `Left managed lease ${id} of ${lease.projectName} alone: its leases:find entry is malformed (${lease.problem}); ${consequence}.`,
    {
      leaseId: lease.leaseId,
      swarmingHost: taggedHost(lease.projectName),
      expires: lease.expiresAt === null ? null : new Date(lease.expiresAt).toISOString(),
      renewalDue,
      error: lease.problem,
    },
  );
}

/** MacService's lease list looks cut short: nothing is created or vacated, listed leases are renewed. */
export function suspectLeaseListEntry(suspicion: string): LogEntry {
  return entry(
    'observe.error',
    'ERROR',
    `MacService's lease list looks incomplete; nothing will be created or vacated this pass, the leases it lists are still renewed: ${suspicion}`,
    { source: 'macservice', error: `leases:find looks incomplete: ${suspicion}` },
  );
}

/** A lease id `find` listed more than once, with copies that disagree: left alone this pass. */
export function conflictingLeaseEntry(leaseId: string, copies: number): LogEntry {
  return entry(
    'lease.duplicate',
    'WARNING',
    `Lease ${leaseId} is listed ${copies} times by MacService with different content; it is neither counted nor touched this pass.`,
    { leaseId, copies },
  );
}

/** A SIGTERM or SIGINT: nothing new starts; the calls in flight get a grace, then the summary is written. */
export function interruptedEntry(signal: string, graceMs: number): LogEntry {
  return entry(
    'pass.interrupted',
    'WARNING',
    `Interrupted by ${signal}: no new action will start; actions in flight have ${graceMs / 1000}s to finish, then the pass ends.`,
    { signal, graceMs },
  );
}

/** The function's config is invalid: no pass can run until it is fixed and redeployed. */
export function configErrorEntry(message: string): LogEntry {
  return entry('config.error', 'ERROR', `Bad config, no pass was run and no API was called: ${message}`, { error: message });
}

/** The pass stopped on an unexpected error (a bug): what it had done is logged above this entry. */
export function passErrorEntry(error: string): LogEntry {
  return entry('pass.error', 'ERROR', `The pass stopped on an unexpected error: ${error}`, { error });
}

export function ignoredBotEntry(host: string, botId: string, why: string): LogEntry {
  return entry('bot.ignored', 'DEBUG', `Ignored bot ${botId} on ${host}: ${why}.`, { swarmingHost: host, botId, why });
}

export function groupStatusEntry(group: GroupSummary): LogEntry {
  const done = `created ${group.created}, vacated ${group.vacated}, renewed ${group.renewed}, failed ${group.failed}.`;
  if (group.unknown > 0) {
    return entry(
      'group.status',
      'WARNING',
      `${group.group} on ${group.swarmingHost}: health unknown, its host is blind (${group.leases} leases, ${group.desired} desired); ${done}`,
      group,
    );
  }
  return entry(
    'group.status',
    group.healthy < group.desired ? 'WARNING' : 'INFO',
    `${group.group} on ${group.swarmingHost}: ${group.healthy}/${group.desired} healthy ` +
      `(${group.busy} busy, ${group.booting} booting, ${group.unhealthy} unhealthy, ${group.outdated} outdated); ${done}`,
    group,
  );
}

export function passSummaryEntry(summary: PassSummary): LogEntry {
  const { actions } = summary;
  const expiry =
    summary.observed === null
      ? 'leases unknown (not observed)'
      : summary.soonestExpiryHours === null
        ? 'no managed leases'
        : `soonest expiry in ${formatDuration(summary.soonestExpiryHours * 3_600_000)}`;
  const verdict = summary.outcome === 'ok' ? 'Pass completed' : `Pass FAILED (${summary.failures.join(', ')})`;
  return entry(
    'pass.summary',
    summary.outcome === 'ok' ? 'INFO' : 'ERROR',
    `${verdict}${summary.dryRun ? ' [dry run]' : ''} in ${formatDuration(summary.durationMs)}: ` +
      `${actions.planned} action${actions.planned === 1 ? '' : 's'} (${actions.ok} ok, ${actions.gone > 0 ? `${actions.gone} already gone, ` : ''}${actions.error} failed, ${actions.skipped} skipped, ${actions.dryRun} dry-run), ` +
      `${actions.deferred} deferred, ${actions.refused} refused; ${expiry}.`,
    {
      outcome: summary.outcome,
      failures: summary.failures,
      durationMs: summary.durationMs,
      blindHosts: summary.blindHosts.map((b) => b.host),
      brakeEngaged: summary.brakes.length > 0,
      // Entries of leases:find that were not used: malformed managed ones, unreadable foreign ones.
      ...(summary.observed ? { malformedLeases: summary.observed.malformedLeases, skippedLeases: summary.observed.skippedLeases } : {}),
      ...(summary.soonestExpiryHours !== null ? { soonestExpiryHours: summary.soonestExpiryHours } : {}),
      apiCalls: summary.apiCalls,
      actions: summary.actions,
      groups: summary.groups,
    },
  );
}

function entry<E extends LogEvent>(event: E, severity: Severity, message: string, fields: EventFields<E>): LogEntry {
  return { severity, message, fields: { event, ...fields } };
}

function pastTense(verb: string): string {
  return verb.endsWith('e') ? `${verb}d` : `${verb}ed`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
