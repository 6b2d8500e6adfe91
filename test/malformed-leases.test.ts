// One malformed entry in leases:find must not stop every pass (issue 11, item 4). Another
// project's odd lease is skipped and counted; a malformed managed lease is left alone — never
// vacated or renewed on bad data — and logged, at ERROR when that leaves it without a renewal.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, PUBLIC_HOST, SECRETS, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { findAnswer, serveFind } from './support/find-answer';
import { mutationsOf, runFleetPass } from './support/pass-harness';
import { HOUR } from './builders';

let fleet: FakeFleet;

beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());

/** The fake's own find answer, every instance passed through `edit`, plus `extra` instances. */
async function serveFindWith(extra: unknown[], edit: (instance: any) => unknown = (instance) => instance): Promise<void> {
  const real = await findAnswer(fleet);
  serveFind(fleet, [...extra, ...real.instances.map(edit)]);
}

describe('a malformed lease in leases:find', () => {
  it('of another project is skipped and counted, and the pass renews as usual', async () => {
    fleet.seedConvergedFleet();
    // One of the converged leases is 21 hours from expiry: inside renewBefore (22h), so this pass must renew it.
    const expiring = [...fleet.world.leases.values()][0]!;
    expiring.expiresAt = fleet.world.now() + 21 * HOUR;
    await serveFindWith([
      { lease: { leaseId: '0f0f0f0f-0000-4000-8000-00000000000a', expires: 'tomorrow' } },
      { lease: { leaseId: 7, vmResourceNamespace: { customerName: 'golang', projectName: 'someone-else' }, expires: 'tomorrow' } },
    ]);

    const result = await runFleetPass(fleet);

    expect(result.summary.outcome).toBe('ok');
    expect(result.summary.observed).toMatchObject({ skippedLeases: 2, malformedLeases: 0 });
    expect(mutationsOf(fleet).map((r) => [r.verb, r.body.leaseId])).toEqual([['renew', expiring.leaseId]]);
  });

  it('that is managed is left alone and logged at ERROR when it goes without a renewal, and the pass does not fail', async () => {
    fleet.seedConvergedFleet();
    const odd = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR);
    fleet.addBotFor(odd, { isDead: true, lastSeenAt: 0 });
    await serveFindWith([], (instance) =>
      instance.lease.leaseId === odd.leaseId ? { ...instance, lease: { ...instance.lease, expires: 'tomorrow' } } : instance,
    );

    const result = await runFleetPass(fleet);

    // Dead and due for renewal, but read from bad data: neither vacated nor renewed.
    expect(mutationsOf(fleet).filter((r) => r.body.leaseId === odd.leaseId)).toEqual([]);
    expect(fleet.world.leases.has(odd.leaseId)).toBe(true);
    expect(result.summary.outcome).toBe('ok');
    expect(result.summary.observed).toMatchObject({ malformedLeases: 1, skippedLeases: 0, strayBots: 0 });
    const logged = result.entries.filter((e) => e.fields.event === 'lease.malformed');
    expect(logged.map((e) => [e.severity, e.fields.leaseId, e.fields.error])).toEqual([
      ['ERROR', odd.leaseId, 'lease.expires: not an RFC 3339 timestamp'],
    ]);
    expect(JSON.stringify(result.entries)).not.toContain(SECRETS.key);
  });

  it('that is managed but not due for renewal is logged as a warning', async () => {
    fleet.seedConvergedFleet();
    const odd = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    await serveFindWith([], (instance) =>
      instance.lease.leaseId === odd.leaseId ? { ...instance, instanceSpecification: { ...instance.instanceSpecification, metadata: 'junk' } } : instance,
    );

    const result = await runFleetPass(fleet);

    const logged = result.entries.filter((e) => e.fields.event === 'lease.malformed');
    expect(logged.map((e) => [e.severity, e.fields.leaseId, e.fields.renewalDue])).toEqual([['WARNING', odd.leaseId, false]]);
    expect(mutationsOf(fleet).filter((r) => r.body.leaseId === odd.leaseId)).toEqual([]);
    expect(result.summary.outcome).toBe('ok');
  });
});
