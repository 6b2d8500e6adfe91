// `makemac status` as text: one table per swarming host (a line per group), then the plan in
// one sentence; with --leases, a line per lease. Without --leases it fits a terminal screen
// per host however many leases there are.
import { formatDuration } from '../shared/duration';
import type { FleetStatus, GroupState, LeaseCounts, LeaseRow, NextPass } from '../shared/fleet-status';

const COLUMNS = ['GROUP', 'STATUS', 'WANT', 'LEASES', 'HEALTHY', 'IDLE', 'BUSY', 'BOOTING', 'MISSING', 'DEAD', 'QUAR', 'MAINT', 'UNKNOWN', 'OUTDATED', 'SOONEST EXPIRY', 'NEXT PASS'];
/** Left-aligned columns; the counts are right-aligned. */
const TEXT_COLUMNS = new Set(['GROUP', 'STATUS', 'SOONEST EXPIRY', 'NEXT PASS']);

export function statusText(status: FleetStatus): string {
  const out: string[] = [];
  out.push(`makemac status · customer ${status.customer} · observed ${status.observedAt} · dry run ${status.dryRun ? 'on' : 'off'}`);
  out.push(verdictLine(status));
  for (const host of status.hosts) {
    out.push('');
    out.push(`${host.host} · pool ${host.pool} · ${host.botsListed} bot${host.botsListed === 1 ? '' : 's'} listed${host.blind ? ` · BLIND: ${host.blindReason ?? 'no reason given'}` : ''}`);
    const rows = host.groups.map(groupRow);
    if (host.unclaimed.leases > 0) rows.push(countsRow('(no group)', 'orphans', '—', host.unclaimed));
    out.push(...table(COLUMNS, rows, TEXT_COLUMNS));
  }
  if (status.retiredHosts.length > 0) {
    out.push('');
    out.push('Retired hosts (retiredHosts), whose leases are drained:');
    for (const { host, counts } of status.retiredHosts) {
      out.push(`  ${host}: ${counts.leases} lease${counts.leases === 1 ? '' : 's'}; next pass: ${nextText(counts.next)}`);
    }
  }
  out.push('');
  out.push(`Next pass: ${nextText(status.next)}.`);
  for (const brake of status.brakes) {
    out.push(`Brake: ${brake.swarmingHost} wants ${brake.wanted} health vacates, over its limit of ${brake.limit}; none will happen.`);
  }
  out.push(
    `Also seen: ${status.unmanagedLeases} lease(s) of other projects (never touched), ${status.strayBots} bot(s) of leases not found, ` +
      `${status.unparsedBots} bot(s) that are not MacService bots.`,
  );
  if (status.leases) {
    out.push('');
    out.push(...table(['LEASE', 'HOST', 'GROUP', 'BOT', 'VERDICT', 'NOTE', 'IMAGE', 'AGE', 'EXPIRES IN', 'NEXT PASS'], status.leases.map(leaseRow), null));
  }
  return `${out.join('\n')}\n`;
}

function verdictLine(status: FleetStatus): string {
  const groups = status.hosts.flatMap((host) => host.groups);
  const atCount = groups.filter((group) => group.atCount).length;
  if (status.ok) return `Fleet at count and healthy: all ${groups.length} groups.`;
  const blind = status.hosts.filter((host) => host.blind).map((host) => host.host);
  return `Fleet NOT at count: ${atCount} of ${groups.length} groups at count and healthy${blind.length > 0 ? `; blind: ${blind.join(', ')}` : ''}.`;
}

function groupRow(group: GroupState): string[] {
  return countsRow(group.group, group.atCount ? 'ok' : shortfall(group), String(group.desired), group);
}

/** Why a group is not at count, in a word or two. */
function shortfall(group: GroupState): string {
  const unhealthy = group.unhealthy;
  if (group.unknown > 0) return 'unknown';
  if (group.rolloutHalted) return group.backfillImage === null ? 'halted, nothing to backfill' : `halted, backfill ${group.backfillImage.slice(0, 8)}`;
  if (group.healthyCurrent < group.desired) return `short ${group.desired - group.healthyCurrent}`;
  if (unhealthy > 0) return `unhealthy ${unhealthy}`;
  if (group.maintenance > 0) return `maintenance ${group.maintenance}`;
  if (group.outdated > 0) return `outdated ${group.outdated}`;
  if (group.booting > 0) return `booting ${group.booting}`;
  return `excess ${group.leases - group.desired}`;
}

function countsRow(name: string, state: string, want: string, counts: LeaseCounts): string[] {
  return [
    name,
    state,
    want,
    String(counts.leases),
    String(counts.healthy),
    String(counts.idle),
    String(counts.busy),
    String(counts.booting),
    String(counts.missing),
    String(counts.dead),
    String(counts.quarantined),
    String(counts.maintenance),
    String(counts.unknown),
    String(counts.outdated),
    expiresIn(counts.soonestExpiresInMs),
    nextText(counts.next),
  ];
}

function leaseRow(lease: LeaseRow): string[] {
  return [
    lease.leaseId,
    lease.swarmingHost,
    lease.group ?? '(none)',
    lease.botId ?? '—',
    lease.inMaintenance ? `${lease.state} (maintenance)` : lease.state,
    lease.note,
    `${lease.image === '' ? '(none)' : lease.image.slice(0, 12)} ${lease.current ? 'current' : 'outdated'}`,
    lease.ageMs === null ? 'over 1h' : formatDuration(lease.ageMs),
    expiresIn(lease.expiresInMs),
    lease.next ?? '—',
  ];
}

export function expiresIn(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** `create 1, renew 3, vacate 2 (dead 1, orphaned 1), deferred 1 (busy 1)`, or `nothing`. */
export function nextText(next: NextPass): string {
  const byReason = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const parts: string[] = [];
  if (next.create > 0) parts.push(`create ${next.create}`);
  if (next.renew > 0) parts.push(`renew ${next.renew}`);
  if (total(next.vacate) > 0) parts.push(`vacate ${total(next.vacate)} (${byReason(next.vacate)})`);
  if (total(next.deferred) > 0) parts.push(`deferred ${total(next.deferred)} (${byReason(next.deferred)})`);
  if (next.refused > 0) parts.push(`refused ${next.refused} (brake)`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

function table(header: string[], rows: string[][], leftAligned: Set<string> | null): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (leftAligned === null || leftAligned.has(header[i]!) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
