// The simulator's report, three ways: a text table for the terminal, JSON for scripts, and one
// self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched) for people.
import { escapeHtml } from '../html';
import { formatDuration } from '../duration';
import type { SimulationMetrics, SimulationResult } from './simulator';

/** All policies' runs of one scenario. */
export interface ScenarioReport {
  scenario: string;
  description: string;
  days: number;
  seed: number;
  results: SimulationResult[];
}

export function groupByScenario(results: readonly SimulationResult[]): ScenarioReport[] {
  const reports = new Map<string, ScenarioReport>();
  for (const result of results) {
    let report = reports.get(result.scenario);
    if (!report) {
      report = { scenario: result.scenario, description: result.description, days: result.days, seed: result.seed, results: [] };
      reports.set(result.scenario, report);
    }
    report.results.push(result);
  }
  return [...reports.values()];
}

const percent = (share: number | null) => (share === null ? '—' : `${(share * 100).toFixed(2)}%`);
const hours = (value: number | 'never' | null) =>
  value === null ? '—' : value === 'never' ? 'never' : value < 1 / 60 ? '0m' : formatDuration(Math.round(value * 60) * 60_000);

/** Rows of the comparison table: label and one cell per policy. */
function rows(results: readonly SimulationResult[]): { label: string; cells: string[]; indent?: boolean; section?: boolean }[] {
  const cell = (pick: (m: SimulationMetrics) => string) => results.map((r) => pick(r.metrics));
  const endpoints = [...new Set(results.flatMap((r) => Object.keys(r.metrics.apiCalls)))].sort();
  const reasons = [...new Set(results.flatMap((r) => Object.keys(r.metrics.vacatesByReason)))].sort();
  return [
    { label: 'availability (healthy ÷ desired capacity-hours)', cells: cell((m) => percent(m.availability)) },
    { label: 'lowest capacity of rolled-out groups', cells: cell((m) => percent(m.minRolloutCapacity)) },
    { label: 'rollout done after', cells: cell((m) => hours(m.rolloutHours)) },
    { label: 'time to recover after faults', cells: cell((m) => hours(m.recoveryHours)) },
    { label: 'lease-hours consumed', cells: cell((m) => m.leaseHours.toFixed(1)) },
    { label: 'leases lost to expiry', cells: cell((m) => String(m.leasesLostToExpiry)) },
    { label: 'unmanaged leases touched', cells: cell((m) => String(m.unmanagedLeasesTouched)) },
    { label: 'tasks interrupted by a vacate', cells: cell((m) => String(m.tasksInterrupted)) },
    { label: 'rollout halted (hours) / backfills', cells: cell((m) => `${m.rolloutHaltedHours.toFixed(1)} / ${m.backfills}`) },
    { label: 'failed passes', cells: cell((m) => `${m.failedPasses} of ${m.passes}`) },
    { label: 'creates / renewals (ok)', cells: cell((m) => `${m.creates} / ${m.renewals}`) },
    { label: 'failed actions', cells: cell((m) => String(m.failedActions)) },
    { label: 'API calls', cells: cell((m) => String(m.apiCallsTotal)), section: true },
    ...endpoints.map((endpoint) => ({ label: endpoint, cells: cell((m) => String(m.apiCalls[endpoint] ?? 0)), indent: true })),
    { label: 'vacates by reason', cells: cell((m) => String(Object.values(m.vacatesByReason).reduce((a, b) => a + b, 0))), section: true },
    ...reasons.map((reason) => ({ label: reason, cells: cell((m) => String(m.vacatesByReason[reason] ?? 0)), indent: true })),
  ];
}

/** What each policy column is: "makemac" alone would read as this program. */
const POLICY_MEANINGS: Record<string, string> = {
  default: "this makemac's planner",
  'go-makemac': "Go's cmd/makemac (golang/build), emulated",
};

export function formatText(reports: readonly ScenarioReport[]): string {
  const out: string[] = [];
  const policies = [...new Set(reports.flatMap((report) => report.results.map((r) => r.policy)))];
  out.push(`Policies: ${policies.map((policy) => `${policy} = ${POLICY_MEANINGS[policy] ?? policy}`).join('; ')}.`);
  out.push('');
  for (const report of reports) {
    out.push(`Scenario ${report.scenario}: ${report.days} day(s), seed ${report.seed}`);
    out.push(`  ${report.description}`);
    const table = rows(report.results);
    const labels = table.map((r) => (r.indent ? `  ${r.label}` : r.label));
    const width = Math.max(...labels.map((l) => l.length)) + 2;
    const columns = report.results.map((r, i) => Math.max(r.policy.length, ...table.map((row) => row.cells[i]!.length)) + 2);
    out.push(`  ${'policy'.padEnd(width)}${report.results.map((r, i) => r.policy.padStart(columns[i]!)).join('')}`);
    table.forEach((row, index) => {
      out.push(`  ${labels[index]!.padEnd(width)}${row.cells.map((c, i) => c.padStart(columns[i]!)).join('')}`);
    });
    out.push('');
  }
  return out.join('\n');
}

export function toJson(reports: readonly ScenarioReport[]): string {
  return `${JSON.stringify(
    reports.map((report) => ({
      scenario: report.scenario,
      description: report.description,
      days: report.days,
      seed: report.seed,
      policies: Object.fromEntries(
        report.results.map((r) => [
          r.policy,
          { metrics: r.metrics, windows: r.windows, halts: r.halts, backfillHours: r.backfillHours, series: r.series.map((p) => [p.hours, p.healthy, p.desired]) },
        ]),
      ),
    })),
    null,
    2,
  )}\n`;
}

const COLORS: Record<string, string> = { default: '#1a73e8', 'go-makemac': '#e8710a' };

/** Healthy capacity of each policy against desired, over time, with the scenario's events shaded. */
function chart(report: ScenarioReport): string {
  const [width, height] = [960, 320];
  const margin = { left: 48, right: 16, top: 16, bottom: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const totalHours = report.days * 24;
  const maxY = Math.max(1, ...report.results.flatMap((r) => r.series.map((p) => Math.max(p.desired, p.healthy)))) * 1.1;
  const x = (h: number) => margin.left + (h / totalHours) * plotW;
  const y = (v: number) => margin.top + plotH - (v / maxY) * plotH;
  const parts: string[] = [];
  const windows = report.results[0]?.windows ?? [];
  windows.forEach((w, index) => {
    if (w.toHours > w.fromHours) {
      parts.push(`<rect x="${x(w.fromHours).toFixed(1)}" y="${margin.top}" width="${(x(w.toHours) - x(w.fromHours)).toFixed(1)}" height="${plotH}" fill="#d93025" fill-opacity="0.08"><title>${escapeHtml(w.label)}</title></rect>`);
    } else {
      parts.push(`<line x1="${x(w.fromHours).toFixed(1)}" x2="${x(w.fromHours).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#d93025" stroke-dasharray="2 3"><title>${escapeHtml(w.label)}</title></line>`);
    }
    // Stacked, so events at the same time do not print over each other.
    const labelY = margin.top + 12 + (index % 5) * 13;
    parts.push(`<text x="${(x(w.fromHours) + 3).toFixed(1)}" y="${labelY}" font-size="11" fill="#a50e0e">${escapeHtml(w.label)}</text>`);
  });
  // Axes and grid.
  const yStep = maxY > 40 ? 10 : 5;
  for (let v = 0; v <= maxY; v += yStep) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#5f6368">${v}</text>`);
  }
  const xStep = totalHours > 72 ? 24 : totalHours > 24 ? 6 : totalHours > 6 ? 2 : 1;
  for (let h = 0; h <= totalHours; h += xStep) {
    parts.push(`<text x="${x(h).toFixed(1)}" y="${height - margin.bottom + 28}" font-size="11" text-anchor="middle" fill="#5f6368">${h}h</text>`);
  }
  const line = (points: [number, number][], attrs: string) =>
    `<polyline fill="none" ${attrs} points="${points.map(([h, v]) => `${x(h).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  const first = report.results[0];
  if (first) parts.push(line(first.series.map((p) => [p.hours, p.desired]), 'stroke="#202124" stroke-width="1.5" stroke-dasharray="6 4"'));
  for (const result of report.results) {
    parts.push(line(result.series.map((p) => [p.hours, p.healthy]), `stroke="${COLORS[result.policy] ?? '#34a853'}" stroke-width="1.8"`));
  }
  // The planner's own decisions, per policy: halted rollouts as a band under the axis, backfills as ticks on it.
  report.results.forEach((result, row) => {
    const color = COLORS[result.policy] ?? '#34a853';
    const bandY = margin.top + plotH + 3 + row * 5;
    for (const halt of result.halts) {
      parts.push(`<rect x="${x(halt.fromHours).toFixed(1)}" y="${bandY}" width="${Math.max(1, x(halt.toHours) - x(halt.fromHours)).toFixed(1)}" height="4" fill="${color}" fill-opacity="0.6"><title>${escapeHtml(`${result.policy}: ${halt.label}`)}</title></rect>`);
    }
    for (const at of result.backfillHours) {
      parts.push(`<path d="M${x(at).toFixed(1)},${(bandY - 5).toFixed(1)} l-3,-6 h6 z" fill="${color}"><title>${escapeHtml(`${result.policy}: backfill at ${at.toFixed(1)}h`)}</title></path>`);
    }
  });
  const legend = [
    `<tspan fill="#202124">- - desired</tspan>`,
    ...report.results.map((r) => `<tspan fill="${COLORS[r.policy] ?? '#34a853'}" dx="16">━ healthy, ${escapeHtml(r.policy)}</tspan>`),
  ].join('');
  parts.push(`<text x="${margin.left}" y="${height - 6}" font-size="12">${legend}<tspan fill="#5f6368" dx="16">(lowest in each 10 min; under the axis: ▬ rollout halted, ▼ backfill)</tspan></text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="healthy capacity against desired over time">${parts.join('')}</svg>`;
}

function htmlTable(report: ScenarioReport): string {
  const head = `<tr><th>metric</th>${report.results.map((r) => `<th>${escapeHtml(r.policy)}</th>`).join('')}</tr>`;
  const body = rows(report.results)
    .map((row) => {
      const cls = row.indent ? ' class="indent"' : row.section ? ' class="section"' : '';
      return `<tr${cls}><td>${escapeHtml(row.label)}</td>${row.cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('');
  return `<table>${head}${body}</table>`;
}

export function toHtml(reports: readonly ScenarioReport[]): string {
  const sections = reports
    .map(
      (report) => `<section>
<h2>${escapeHtml(report.scenario)} <small>${report.days} day(s), seed ${report.seed}</small></h2>
<p>${escapeHtml(report.description)}</p>
${chart(report)}
${htmlTable(report)}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>makemac simulation</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124; max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } small { color: #5f6368; font-weight: normal; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 3px 12px; border-bottom: 1px solid #e0e0e0; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.section td { font-weight: 600; padding-top: 10px; }
tr.indent td:first-child { padding-left: 28px; color: #5f6368; }
</style>
</head>
<body>
<h1>makemac simulation</h1>
<p>Each policy runs against the same simulated fleet and seed: real passes (<code>runPass</code> with the real clients) against the
fake MacService and Swarming servers, every 10 virtual minutes. <b>default</b> is makemac's planner; <b>go-makemac</b> emulates the Go
makemac (no brake, no blind-host protection, renews every lease every pass, replaces outdated leases all at once, ignores busy bots).
Capacity is read from the simulated world every minute: a group's healthy capacity is its live, unquarantined bots, up to its count.</p>
${sections}
</body>
</html>
`;
}
