// `makemac status --html`: one self-contained page (no script, no external resource) with the
// same tables as the text and a bar per group, to attach to an incident.
import { formatDuration } from '../shared/duration';
import type { FleetStatus, GroupState, LeaseCounts } from '../shared/fleet-status';
import { escapeHtml } from '../shared/html';
import { expiresIn, nextText } from './status-text';

/** Bar segments, in drawing order: capacity first, then what is on its way, then what is broken. */
const SEGMENTS: { key: keyof LeaseCounts; label: string; color: string }[] = [
  { key: 'idle', label: 'healthy idle', color: '#34a853' },
  { key: 'busy', label: 'healthy busy', color: '#188038' },
  { key: 'booting', label: 'booting', color: '#4285f4' },
  { key: 'maintenance', label: 'maintenance', color: '#fbbc04' },
  { key: 'quarantined', label: 'quarantined', color: '#f29900' },
  { key: 'missing', label: 'missing', color: '#d93025' },
  { key: 'dead', label: 'dead', color: '#a50e0e' },
  { key: 'unknown', label: 'unknown (blind host)', color: '#9aa0a6' },
];

export function statusHtml(status: FleetStatus): string {
  const e = escapeHtml;
  const hosts = status.hosts
    .map((host) => {
      const rows = host.groups.map((group) => groupRow(group));
      if (host.unclaimed.leases > 0) rows.push(countsCells('(no group)', '—', 'orphans', host.unclaimed, null));
      return `<h2>${e(host.host)}</h2>
<p>pool ${e(host.pool)} · ${host.botsListed} bots listed${host.blind ? ` · <b class="bad">blind: ${e(host.blindReason ?? 'no reason given')}</b>` : ''}</p>
<table><tr>${HEADERS.map((h) => `<th>${e(h)}</th>`).join('')}</tr>
${rows.join('\n')}
</table>`;
    })
    .join('\n');
  const retired =
    status.retiredHosts.length === 0
      ? ''
      : `<h2>Retired hosts, whose leases are drained</h2><ul>${status.retiredHosts
          .map(({ host, counts }) => `<li>${e(host)}: ${counts.leases} leases; next pass: ${e(nextText(counts.next))}</li>`)
          .join('')}</ul>`;
  const leases = status.leases
    ? `<h2>Leases</h2><table><tr>${['lease', 'host', 'group', 'bot', 'verdict', 'note', 'image', 'age', 'expires', 'next pass'].map((h) => `<th>${h}</th>`).join('')}</tr>
${status.leases
  .map(
    (l) =>
      `<tr><td>${e(l.leaseId)}</td><td>${e(l.swarmingHost)}</td><td>${e(l.group ?? '(none)')}</td><td>${e(l.botId ?? '—')}</td>` +
      `<td>${e(l.state)}${l.inMaintenance ? ' (maintenance)' : ''}</td><td>${e(l.note)}</td>` +
      `<td>${e(l.image.slice(0, 12))} ${l.current ? 'current' : '<b class="bad">outdated</b>'}</td>` +
      `<td>${l.ageMs === null ? 'over 1h' : e(formatDuration(l.ageMs))}</td><td>${e(expiresIn(l.expiresInMs))}</td><td>${e(l.next ?? '—')}</td></tr>`,
  )
  .join('\n')}
</table>`
    : '';
  const legend = SEGMENTS.map((s) => `<span class="key"><i style="background:${s.color}"></i>${e(s.label)}</span>`).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>makemac status ${e(status.observedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #202124; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border-bottom: 1px solid #dadce0; padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
.ok { color: #188038; } .bad { color: #d93025; }
.bar { position: relative; display: flex; width: 240px; height: 14px; background: #f1f3f4; }
.bar i, .key i { display: inline-block; height: 14px; }
.bar .want { position: absolute; top: -3px; bottom: -3px; border-left: 2px solid #202124; }
.key { margin-right: 12px; } .key i { width: 12px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body>
<h1>makemac status</h1>
<p>customer ${e(status.customer)} · observed ${e(status.observedAt)} · dry run ${status.dryRun ? 'on' : 'off'}</p>
<p class="${status.ok ? 'ok' : 'bad'}"><b>${status.ok ? 'Fleet at count and healthy.' : 'Fleet NOT at count and healthy.'}</b> Next pass: ${e(nextText(status.next))}.</p>
<p>${legend} <span class="key">▏ count wanted</span></p>
${hosts}
${retired}
<p>Also seen: ${status.unmanagedLeases} lease(s) of other projects (never touched), ${status.strayBots} bot(s) of leases not found, ${status.unparsedBots} bot(s) that are not MacService bots.</p>
${leases}
</body>
</html>
`;
}

const HEADERS = ['group', 'want', 'status', 'leases', 'healthy', 'idle', 'busy', 'booting', 'missing', 'dead', 'quarantined', 'maintenance', 'unknown', 'outdated', 'soonest expiry', 'next pass', 'capacity'];

function groupRow(group: GroupState): string {
  return countsCells(group.group, String(group.desired), group.atCount ? 'ok' : 'NOT OK', group, group.desired);
}

function countsCells(name: string, want: string, state: string, counts: LeaseCounts, desired: number | null): string {
  const e = escapeHtml;
  const numbers = (['leases', 'healthy', 'idle', 'busy', 'booting', 'missing', 'dead', 'quarantined', 'maintenance', 'unknown', 'outdated'] as const).map(
    (key) => `<td>${counts[key]}</td>`,
  );
  return (
    `<tr><td>${e(name)}</td><td>${e(want)}</td><td class="text ${state === 'ok' ? 'ok' : 'bad'}">${e(state)}</td>${numbers.join('')}` +
    `<td class="text">${e(expiresIn(counts.soonestExpiresInMs))}</td><td class="text">${e(nextText(counts.next))}</td><td>${bar(counts, desired)}</td></tr>`
  );
}

/** Leases by state as a stacked bar, scaled to the larger of count and leases, with a tick at count. */
function bar(counts: LeaseCounts, desired: number | null): string {
  const scale = Math.max(1, counts.leases, desired ?? 0);
  const segments = SEGMENTS.map((s) => {
    const n = counts[s.key] as number;
    return n === 0 ? '' : `<i style="width:${((n / scale) * 100).toFixed(2)}%;background:${s.color}" title="${escapeHtml(`${s.label}: ${n}`)}"></i>`;
  }).join('');
  const want = desired === null ? '' : `<span class="want" style="left:${((desired / scale) * 100).toFixed(2)}%" title="count ${desired}"></span>`;
  return `<div class="bar">${segments}${want}</div>`;
}
