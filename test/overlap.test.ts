// Two passes at once (a manual run during a scheduled one). What holds, and what the README
// claims: at worst a deficit is filled twice — the executor's re-read before the creates only
// catches another pass whose creates landed before it, so passes a few calls apart still both
// create — no healthy lease is lost, and the next pass vacates the surplus (idle first, as
// `excess`) so the fleet converges to its counts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { METADATA } from '../shared/fleet';
import type { PassClients } from '../shared/pass';
import type { WorldLease } from '../shared/sim/world';
import { IMAGE_14, IMAGE_OLD, PUBLIC_HOST, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { requestsOf, runFleetPass } from './support/pass-harness';

const LATENCY_MS = 50;
const COUNTS = { 'darwin-amd64-14': 3, 'darwin-arm64-15': 2, 'darwin-amd64-14-security': 1 };

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());

const hostnameOf = (lease: WorldLease) => lease.metadata.find((m) => m.key === METADATA.hostname)?.value ?? '';

function countsInWorld(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const lease of fleet.world.leases.values()) counts[hostnameOf(lease)] = (counts[hostnameOf(lease)] ?? 0) + 1;
  return counts;
}

/** The converged fleet less two darwin-amd64-14 leases and the security lease: a deficit of 3. */
function seedDeficit(): { deficit: number; healthy: string[] } {
  fleet.seedConvergedFleet();
  const leases = [...fleet.world.leases.values()];
  const amd = leases.filter((l) => hostnameOf(l) === 'darwin-amd64-14');
  const security = leases.filter((l) => hostnameOf(l) === 'darwin-amd64-14-security');
  for (const lease of [amd[0]!, amd[1]!, security[0]!]) {
    fleet.world.leases.delete(lease.leaseId);
    const host = lease.metadata.find((m) => m.key === METADATA.swarming)!.value;
    fleet.world.removeBot(host, `${hostnameOf(lease)}--${lease.leaseId}.golang.c3.macservice.goog`);
  }
  return { deficit: 3, healthy: [...fleet.world.leases.keys()] };
}

/** The VMs of leases created since `before` boot: each gets a healthy idle bot. */
function bootNewLeases(before: ReadonlySet<string>): WorldLease[] {
  const fresh = [...fleet.world.leases.values()].filter((l) => !before.has(l.leaseId));
  for (const lease of fresh) fleet.addBotFor(lease);
  return fresh;
}

/** The real clients, with `find` passed through `wrap`: another party acting between two reads. */
function wrapFind(clients: PassClients, wrap: (find: () => ReturnType<PassClients['macService']['find']>, call: number) => ReturnType<PassClients['macService']['find']>): PassClients {
  // Calls: 1 is the observation, 2 and on the re-reads before the creates (one per host with creates).
  let calls = 0;
  const real = clients.macService;
  return {
    ...clients,
    macService: {
      find: (filter) => wrap(() => real.find(filter), ++calls),
      create: (request) => real.create(request),
      renew: (id, seconds) => real.renew(id, seconds),
      vacate: (id) => real.vacate(id),
    },
  };
}

async function convergeAfterSurplus(surplus: number, fresh: WorldLease[]): Promise<void> {
  // One of the new darwin-amd64-14 leases picks up a task at once: it must not be the one to go.
  const busy = fresh.find((l) => hostnameOf(l) === 'darwin-amd64-14');
  if (busy) fleet.world.hostBots(PUBLIC_HOST).get(`darwin-amd64-14--${busy.leaseId}.golang.c3.macservice.goog`)!.taskId = 'task-7';
  const before = fleet.macService.requests.length;
  const result = await runFleetPass(fleet);
  const vacates = fleet.macService.requests.slice(before).filter((r) => r.verb === 'vacate');
  expect(vacates).toHaveLength(surplus);
  expect(fleet.macService.requests.slice(before).filter((r) => r.verb === 'create')).toEqual([]);
  for (const outcome of result.outcomes.filter((o) => o.action.kind === 'vacate')) {
    expect(outcome).toMatchObject({ outcome: 'ok', action: { reason: 'excess' } });
    const verdict = result.plan!.verdicts.find((v) => v.leaseId === (outcome.action as { leaseId: string }).leaseId)!;
    expect(verdict.state).toBe('healthy-idle');
  }
  if (busy) expect(fleet.world.leases.has(busy.leaseId)).toBe(true);
  expect(countsInWorld()).toEqual(COUNTS);
  expect(result.summary.outcome).toBe('ok');
  // And it stays put.
  const after = fleet.macService.requests.length;
  await runFleetPass(fleet);
  expect(fleet.macService.requests.slice(after).filter((r) => r.verb !== 'find')).toEqual([]);
}

describe('two passes at once', () => {
  it('fill a deficit at most twice, lose no healthy lease, and the next pass vacates the surplus', async ({ annotate }) => {
    const { deficit, healthy } = seedDeficit();
    const before = new Set(fleet.world.leases.keys());

    const [a, b] = await Promise.all([runFleetPass(fleet), runFleetPass(fleet)]);

    const creates = requestsOf(fleet, 'create').length;
    const superseded = [...a.outcomes, ...b.outcomes].filter((o) => o.skipReason === 'superseded').length;
    await annotate(`${creates} creates for a deficit of ${deficit}; ${superseded} create(s) superseded by the re-read`);
    expect(creates).toBeGreaterThanOrEqual(deficit);
    expect(creates).toBeLessThanOrEqual(2 * deficit);
    expect(creates + superseded).toBe(2 * deficit);
    expect(requestsOf(fleet, 'vacate')).toEqual([]);
    for (const id of healthy) expect(fleet.world.leases.has(id)).toBe(true);
    expect([a.summary.outcome, b.summary.outcome]).toEqual(['ok', 'ok']);

    await convergeAfterSurplus(creates - deficit, bootNewLeases(before));
  });

  it('staggered by 50 ms at 50 ms per call: measured, at most twice the deficit, and the next pass converges', async ({ annotate }) => {
    const { deficit, healthy } = seedDeficit();
    const before = new Set(fleet.world.leases.keys());
    fleet.macService.inject('*', { kind: 'delay', ms: LATENCY_MS });
    fleet.publicSwarming.inject({ kind: 'delay', ms: LATENCY_MS });
    fleet.securitySwarming.inject({ kind: 'delay', ms: LATENCY_MS });

    const first = runFleetPass(fleet);
    await new Promise((resolve) => setTimeout(resolve, LATENCY_MS));
    const results = await Promise.all([first, runFleetPass(fleet)]);
    fleet.macService.clearFaults();
    fleet.publicSwarming.clearFaults();
    fleet.securitySwarming.clearFaults();

    const creates = requestsOf(fleet, 'create').length;
    const superseded = results.flatMap((r) => r.outcomes).filter((o) => o.skipReason === 'superseded').length;
    await annotate(`${creates} creates for a deficit of ${deficit}; ${superseded} superseded by the re-read`);
    // What the README claims: never more than each pass's own deficit, no vacate, no healthy lease lost.
    expect(creates).toBeGreaterThanOrEqual(deficit);
    expect(creates).toBeLessThanOrEqual(2 * deficit);
    expect(requestsOf(fleet, 'vacate')).toEqual([]);
    for (const id of healthy) expect(fleet.world.leases.has(id)).toBe(true);

    await convergeAfterSurplus(creates - deficit, bootNewLeases(before));
  });

  it('whose re-reads both come before either creates: the deficit is filled twice, and the surplus goes next pass', async () => {
    const { deficit, healthy } = seedDeficit();
    const before = new Set(fleet.world.leases.keys());
    // Each pass's second read (the re-read before its creates) waits until both have read.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    const holdRecheck = (clients: PassClients) =>
      wrapFind(clients, async (find, call) => {
        const leases = await find();
        if (call === 2) {
          if (++arrived === 2) release();
          await bothRead;
        }
        return leases;
      });

    const results = await Promise.all([runFleetPass(fleet, { wrapClients: holdRecheck }), runFleetPass(fleet, { wrapClients: holdRecheck })]);

    expect(requestsOf(fleet, 'create')).toHaveLength(2 * deficit);
    expect(results.flatMap((r) => r.outcomes).filter((o) => o.skipReason === 'superseded')).toEqual([]);
    for (const id of healthy) expect(fleet.world.leases.has(id)).toBe(true);
    expect(countsInWorld()).toEqual({ 'darwin-amd64-14': 5, 'darwin-arm64-15': 2, 'darwin-amd64-14-security': 2 });

    await convergeAfterSurplus(deficit, bootNewLeases(before));
  });
});

describe('the re-read before the creates', () => {
  it('skips a create as superseded when a lease of its group appeared since the observation', async () => {
    const { deficit } = seedDeficit();
    let other: WorldLease | undefined;
    const result = await runFleetPass(fleet, {
      wrapClients: (clients) =>
        wrapFind(clients, async (find, call) => {
          const leases = await find();
          // Right after this pass observed, another pass creates a darwin-amd64-14 lease.
          if (call === 1) other = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 0);
          return leases;
        }),
    });

    const creates = result.outcomes.filter((o) => o.action.kind === 'create');
    expect(creates.map((o) => `${o.action.group} ${o.outcome} ${o.skipReason ?? ''}`).sort()).toEqual([
      'darwin-amd64-14 ok ',
      'darwin-amd64-14 skipped superseded',
      'darwin-amd64-14-security ok ',
    ]);
    expect(requestsOf(fleet, 'create')).toHaveLength(deficit - 1);
    expect(fleet.world.leases.has(other!.leaseId)).toBe(true);
    expect(countsInWorld()).toEqual(COUNTS);
    // A superseded create is not a failure: another pass did its work.
    expect(result.summary).toMatchObject({ outcome: 'ok', failures: [], actions: { skipped: 1 } });
    expect(result.entries.find((e) => e.fields.outcome === 'skipped')?.fields.event).toBe('lease.create');
  });

  it.each([
    ['of another group', () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_14, 0)],
    ['of another host', () => fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14', IMAGE_14, 0)],
    ['of the group on an old image', () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_OLD, 0)],
    ['that is not managed', () => fleet.world.addLease({ leaseId: '0f0f0f0f-0000-4000-8000-000000000002', projectName: 'someone-else', image: IMAGE_14 })],
  ])('does not count a new lease %s against the creates', async (_name, appear) => {
    seedDeficit();
    await runFleetPass(fleet, {
      wrapClients: (clients) =>
        wrapFind(clients, async (find, call) => {
          const leases = await find();
          if (call === 1) appear();
          return leases;
        }),
    });
    expect(requestsOf(fleet, 'create').map((r) => r.body.instanceSpecification.metadata[1].value).sort()).toEqual([
      'darwin-amd64-14',
      'darwin-amd64-14',
      'darwin-amd64-14-security',
    ]);
  });

  it('lets the plan stand when the re-read fails', async () => {
    const { deficit } = seedDeficit();
    const result = await runFleetPass(fleet, {
      wrapClients: (clients) =>
        wrapFind(clients, async (find, call) => {
          if (call === 2) fleet.macService.inject('find', { kind: 'status', status: 503, times: 1 });
          return find();
        }),
    });
    expect(requestsOf(fleet, 'create')).toHaveLength(deficit);
    expect(result.summary.outcome).toBe('ok');
  });
});
