// Every `§` a comment cites resolves to a section of the wire notes it means, so the notes and
// the code that relies on them cannot drift apart silently.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/run-cli';

const NOTES = {
  swarming: 'shared/swarming/wire-notes.md',
  macservice: 'shared/macservice/wire-notes.md',
} as const;

/** "2.7" → [2, 7]. */
const parts = (section: string) => section.split('.').map(Number);
function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** The sections each heading of a notes file covers: single ones and ranges, e.g. "§2.1–§2.3, §2.7". */
function coveredRanges(notes: string): [number[], number[]][] {
  return [...notes.matchAll(/^## (.*)$/gm)].flatMap((heading) =>
    [...heading[1]!.matchAll(/§([\d.]+)(?:–§([\d.]+))?/g)].map((m) => [parts(m[1]!), parts(m[2] ?? m[1]!)] as [number[], number[]]),
  );
}

/** A citation of §6 is resolved by any §6.x heading; §2.8 by a heading covering 2.8. */
function resolves(section: string, ranges: [number[], number[]][]): boolean {
  const cited = parts(section);
  return ranges.some(([from, to]) => {
    const within = compare(cited, from) >= 0 && compare(cited, to) <= 0;
    const parent = cited.length === 1 && (from[0] === cited[0] || to[0] === cited[0]);
    return within || parent;
  });
}

/** TypeScript files under a folder, this one left out (it quotes citations as examples). */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
    .filter((f) => f !== path.join('test', 'wire-notes.test.ts'));
}

describe('wire notes', () => {
  it('every § cited in shared/ and test/ is a section of the notes it refers to', () => {
    const ranges = Object.fromEntries(Object.entries(NOTES).map(([k, file]) => [k, coveredRanges(readFileSync(path.join(ROOT, file), 'utf8'))]));
    const unresolved: string[] = [];
    let cited = 0;
    for (const file of [...sourceFiles('shared'), ...sourceFiles('test')]) {
      readFileSync(path.join(ROOT, file), 'utf8').split('\n').forEach((line, i) => {
        // A line naming a notes file cites that one; otherwise the file's own API does.
        const named = /(swarming|macservice)\/wire-notes\.md/.exec(line)?.[1] ?? /(swarming|macservice)/.exec(file)?.[1];
        for (const m of line.matchAll(/§([\d.]*\d)/g)) {
          cited++;
          if (!named || !resolves(m[1]!, ranges[named]!)) unresolved.push(`${file}:${i + 1}: §${m[1]}`);
        }
      });
    }
    expect(unresolved).toEqual([]);
    expect(cited).toBeGreaterThan(10);
  });

  it('no code cites the wire reference that is not in the repository', () => {
    const stale = [...sourceFiles('shared'), ...sourceFiles('functions'), ...sourceFiles('test')].filter((file) =>
      /api-wire-spec/.test(readFileSync(path.join(ROOT, file), 'utf8')),
    );
    expect(stale).toEqual([]);
  });
});
