// One builder per log event. Field names are public: log-based metrics, alerts and the
// README name them (see terraform/monitoring.tf), so change them only together.
import type { Outcome } from './apply/executor';
import { formatDuration } from './duration';
import type { LogEntry, Severity } from './log';
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
    'dry-run': `Would ${verb} ${subject} (dry run): ${action.detail}.`,
    skipped: `Skipped: ${verb} ${subject}: ${result.error ?? 'not started'}.`,
    error: `Failed to ${verb} ${subject} after ${result.attempts} attempt(s): ${result.error}.`,
  }[outcome];
  const severity: Severity = outcome === 'error' ? 'ERROR' : outcome === 'skipped' ? 'WARNING' : action.kind === 'renew' ? 'INFO' : 'NOTICE';
  return {
    severity,
    message: sentence,
    fields: {
      event: `lease.${action.kind}`,
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
    },
  };
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

function deferredEntry(entry: Deferred, count: number): LogEntry {
  const { action } = entry;
  const subject =
    action.kind === 'create'
      ? `${count === 1 ? 'a create' : `${count} creates`} for ${action.group}`
      : `${action.kind} of lease ${action.leaseId}`;
  return {
    severity: 'INFO',
    message: `Deferred ${subject} (${action.reason}) to a later pass: ${entry.detail}.`,
    fields: {
      event: 'action.deferred',
      action: action.kind,
      reason: action.reason,
      deferral: entry.reason,
      count,
      leaseId: action.kind === 'create' ? null : action.leaseId,
      swarmingHost: action.swarmingHost,
      group: action.group,
      detail: entry.detail,
    },
  };
}

export function refusedEntry(entry: Refused): LogEntry {
  const { action } = entry;
  return {
    severity: 'WARNING',
    message: `Refused to vacate lease ${action.leaseId} (${action.reason}): ${entry.detail}.`,
    fields: {
      event: 'action.refused',
      action: action.kind,
      reason: action.reason,
      refusal: entry.reason,
      leaseId: action.leaseId,
      swarmingHost: action.swarmingHost,
      group: action.group,
      detail: entry.detail,
    },
  };
}

export function brakeEntry(brake: Brake): LogEntry {
  return {
    severity: 'ERROR',
    message:
      `Safety brake on ${brake.swarmingHost}: ${brake.wanted} health vacates wanted, limit ${brake.limit} ` +
      `of ${brake.managedLeases} managed leases; none were done. Check Swarming and the images before acting by hand.`,
    fields: { event: 'safety.brake', swarmingHost: brake.swarmingHost, wanted: brake.wanted, limit: brake.limit, managedLeases: brake.managedLeases },
  };
}

export function observeErrorEntry(source: 'macservice' | 'swarming', error: string, swarmingHost?: string): LogEntry {
  const what =
    source === 'macservice'
      ? 'Could not read leases from MacService; nothing will be changed this pass'
      : `Swarming host ${swarmingHost} is blind this pass; none of its leases will be vacated, renewals and creates go on`;
  return {
    severity: 'ERROR',
    message: `${what}: ${error}`,
    fields: { event: 'observe.error', source, ...(swarmingHost ? { swarmingHost } : {}), error },
  };
}

/** The function's config is invalid: no pass can run until it is fixed and redeployed. */
export function configErrorEntry(message: string): LogEntry {
  return {
    severity: 'ERROR',
    message: `Bad config, no pass was run and no API was called: ${message}`,
    fields: { event: 'config.error', error: message },
  };
}

/** The pass stopped on an unexpected error (a bug): what it had done is logged above this entry. */
export function passErrorEntry(error: string): LogEntry {
  return { severity: 'ERROR', message: `The pass stopped on an unexpected error: ${error}`, fields: { event: 'pass.error', error } };
}

export function ignoredBotEntry(host: string, botId: string, why: string): LogEntry {
  return { severity: 'DEBUG', message: `Ignored bot ${botId} on ${host}: ${why}.`, fields: { event: 'bot.ignored', swarmingHost: host, botId, why } };
}

export function groupStatusEntry(group: GroupSummary): LogEntry {
  const done = `created ${group.created}, vacated ${group.vacated}, renewed ${group.renewed}, failed ${group.failed}.`;
  if (group.unknown > 0) {
    return {
      severity: 'WARNING',
      message: `${group.group} on ${group.swarmingHost}: health unknown, its host is blind (${group.leases} leases, ${group.desired} desired); ${done}`,
      fields: { event: 'group.status', ...group },
    };
  }
  return {
    severity: group.healthy < group.desired ? 'WARNING' : 'INFO',
    message:
      `${group.group} on ${group.swarmingHost}: ${group.healthy}/${group.desired} healthy ` +
      `(${group.busy} busy, ${group.booting} booting, ${group.unhealthy} unhealthy, ${group.outdated} outdated); ${done}`,
    fields: { event: 'group.status', ...group },
  };
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
  return {
    severity: summary.outcome === 'ok' ? 'INFO' : 'ERROR',
    message:
      `${verdict}${summary.dryRun ? ' [dry run]' : ''} in ${formatDuration(summary.durationMs)}: ` +
      `${actions.planned} action${actions.planned === 1 ? '' : 's'} (${actions.ok} ok, ${actions.error} failed, ${actions.skipped} skipped, ${actions.dryRun} dry-run), ` +
      `${actions.deferred} deferred, ${actions.refused} refused; ${expiry}.`,
    fields: {
      event: 'pass.summary',
      outcome: summary.outcome,
      failures: summary.failures,
      durationMs: summary.durationMs,
      blindHosts: summary.blindHosts.map((b) => b.host),
      brakeEngaged: summary.brakes.length > 0,
      ...(summary.soonestExpiryHours !== null ? { soonestExpiryHours: summary.soonestExpiryHours } : {}),
      apiCalls: summary.apiCalls,
      actions: summary.actions,
      groups: summary.groups,
    },
  };
}

function pastTense(verb: string): string {
  return verb.endsWith('e') ? `${verb}d` : `${verb}ed`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
