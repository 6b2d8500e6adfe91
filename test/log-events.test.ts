import { describe, expect, it } from 'vitest';
import { actionEntry, deferredEntries } from '../shared/log-events';
import type { CreateAction, Deferred, VacateAction } from '../shared/plan/types';

const create = (group: string): CreateAction => ({ kind: 'create', reason: 'deficit', swarmingHost: 'h', group, image: 'i', detail: 'd' });
const vacate = (leaseId: string): VacateAction => ({ kind: 'vacate', reason: 'excess', swarmingHost: 'h', group: 'g', image: 'i', leaseId, detail: 'd' });

describe('log entries', () => {
  it('log deferred creates once per group and deferral, with their count, and deferred vacates one by one', () => {
    const deferred: Deferred[] = [
      ...Array.from({ length: 980 }, (): Deferred => ({ action: create('darwin-amd64-14'), reason: 'create-budget', detail: 'over the create budget' })),
      ...Array.from({ length: 2 }, (): Deferred => ({ action: create('darwin-amd64-14'), reason: 'surge', detail: 'surge' })),
      { action: create('darwin-arm64-15'), reason: 'create-budget', detail: 'over the create budget' },
      { action: vacate('l1'), reason: 'busy', detail: 'busy' },
      { action: vacate('l2'), reason: 'busy', detail: 'busy' },
    ];
    const entries = deferredEntries(deferred);
    expect(entries.map((e) => [e.fields.action, e.fields.group, e.fields.deferral, e.fields.count, e.fields.leaseId])).toEqual([
      ['vacate', 'g', 'busy', 1, 'l1'],
      ['vacate', 'g', 'busy', 1, 'l2'],
      ['create', 'darwin-amd64-14', 'create-budget', 980, null],
      ['create', 'darwin-amd64-14', 'surge', 2, null],
      ['create', 'darwin-arm64-15', 'create-budget', 1, null],
    ]);
    expect(entries[2]!.message).toBe('Deferred 980 creates for darwin-amd64-14 (deficit) to a later pass: over the create budget.');
    expect(entries[4]!.message).toBe('Deferred a create for darwin-arm64-15 (deficit) to a later pass: over the create budget.');
  });

  it('make a failed action an ERROR naming the lease, and a dry-run one a "would" sentence', () => {
    const failed = actionEntry({ action: vacate('l9'), outcome: 'error', error: 'HTTP 500', attempts: 4, durationMs: 10 });
    expect(failed.severity).toBe('ERROR');
    expect(failed.message).toBe('Failed to vacate lease l9 (g on h) after 4 attempt(s): HTTP 500.');
    expect(failed.fields).toMatchObject({ event: 'lease.vacate', leaseId: 'l9', reason: 'excess', outcome: 'error', error: 'HTTP 500' });
    const dry = actionEntry({ action: create('g2'), outcome: 'dry-run', attempts: 0, durationMs: 0 });
    expect(dry.message).toBe('Would create a g2 lease on h (dry run): d.');
    expect(dry.fields.leaseId).toBeNull();
  });
});
