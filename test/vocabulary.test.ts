// The public words are defined once (shared/plan/vocabulary.ts, shared/log-contract.ts); the
// README's tables and the alert documentation in terraform/ must say exactly the same.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, fieldName, LOG_EVENTS } from '../shared/log-contract';
import { ACTION_REASONS, DEFERRAL_REASONS, REFUSAL_REASONS, VERDICTS, VERDICT_STATES } from '../shared/plan/vocabulary';
import { ROOT } from './support/run-cli';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The rows of the first markdown table whose header row is `header`, as cells. */
function table(header: string): string[][] {
  const lines = README.split('\n').map((line) => line.trim());
  const start = lines.findIndex((line) => line.replace(/\s+/g, ' ') === header);
  if (start < 0) throw new Error(`README has no table headed ${header}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
  }
  return rows;
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, '');
const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('the README says what the vocabulary says', () => {
  it('the verdict table lists every verdict state once, with its meaning', () => {
    const rows = table('| verdict | meaning |');
    expect(rows.map(([verdict]) => unquote(verdict!))).toEqual(VERDICT_STATES);
    for (const [verdict, meaning] of rows) expect(meaning, verdict).toBe(VERDICTS[unquote(verdict!) as keyof typeof VERDICTS].meaning);
  });

  it('the reason table lists every action reason once, with its action and meaning', () => {
    const rows = table('| reason | action | when |');
    expect(rows.map(([reason, kind, when]) => ({ reason: unquote(reason!), kind, meaning: when }))).toEqual(ACTION_REASONS);
  });

  it('the deferral and refusal table lists every one of them once, with its meaning', () => {
    const rows = table('| deferral or refusal | entry | when |');
    const expected = [
      ...Object.entries(DEFERRAL_REASONS).map(([reason, meaning]) => [`\`${reason}\``, 'deferred', meaning]),
      ...Object.entries(REFUSAL_REASONS).map(([reason, meaning]) => [`\`${reason}\``, 'refused', meaning]),
    ];
    expect(rows).toEqual(expected);
  });

  it('the log entry table has a row for every event, naming each of its fields', () => {
    const rows = table('| event | severity | fields |');
    const documented = new Map<string, string[]>();
    for (const [events, , fields] of rows) for (const event of backticked(events!)) documented.set(event, backticked(fields!));
    expect([...documented.keys()].sort()).toEqual([...EVENT_NAMES].sort());
    for (const event of EVENT_NAMES) {
      const missing = LOG_EVENTS[event].map(fieldName).filter((field) => !documented.get(event)!.includes(field));
      expect(missing, event).toEqual([]);
    }
  });
});

describe('terraform/ says what the vocabulary says', () => {
  it("the actions metric's reason label documents every action reason and no other", () => {
    const monitoring = readFileSync(path.join(ROOT, 'terraform', 'monitoring.tf'), 'utf8');
    const label = /key\s*=\s*"reason"\s*\n\s*value_type\s*=\s*"STRING"\s*\n\s*description\s*=\s*"([^"]+)"/.exec(monitoring);
    expect(label, 'the reason label of the actions metric').not.toBeNull();
    const words = label![1]!.split(/,\s*|\s+or\s+/).map((w) => w.trim());
    expect(words).toEqual(ACTION_REASONS.map((r) => r.reason));
  });
});
