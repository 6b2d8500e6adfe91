import { describe, expect, it } from 'vitest';
import { demo } from '../functions/demo';
import { CapturedStream } from './support/capture';

describe('the demo', () => {
  it('converges, exits 0, prints readable tables, and never touches the unmanaged lease', async () => {
    const stdout = new CapturedStream();
    const result = await demo({ stdout });
    expect(result.exitCode).toBe(0);
    expect(result.converged).toBe(true);
    expect(stdout.text).toMatch(/Converged after \d+ passes/);
    expect(stdout.text).toContain('ACTION  REASON');
    for (const reason of ['dead', 'missing', 'outdated', 'deficit', 'expiring']) expect(stdout.text).toMatch(new RegExp(`\\b${reason}\\s+ok\\b`));

    const mutations = result.macServiceRequests.filter((r) => r.verb === 'renew' || r.verb === 'vacate');
    expect(mutations.length).toBeGreaterThan(0);
    expect(mutations.filter((r) => r.body?.leaseId === result.unmanagedLeaseId)).toEqual([]);
    // Lease metadata carries the bot cert and key; none of it may reach the output.
    expect(stdout.text).not.toContain('BEGIN PRIVATE KEY');
    expect(stdout.text).not.toContain('BEGIN CERTIFICATE');
  });
});
