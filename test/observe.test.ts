// Observation through the real clients against the fakes: leases joined to bots, blind hosts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { ObservationError, observe } from '../shared/observe';
import { SecretResolver } from '../shared/secrets';
import { macBotDimensions } from '../shared/sim/world';
import {
  IMAGE_14,
  PUBLIC_HOST,
  PUBLIC_POOL,
  SECRET_ENV,
  SECURITY_HOST,
  startFakeFleet,
  type FakeFleet,
} from './support/fake-fleet';

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(async () => {
  await fleet.close();
});

async function observeFleet(policy: Record<string, unknown> = { maxAttempts: 1 }) {
  const config = parseConfig(fleet.configDocument({ policy }));
  const calls = new CallCounter();
  const clients = buildClients(config, { calls, secrets: new SecretResolver({ env: SECRET_ENV }) });
  const observation = await observe(config, clients, () => fleet.world.now());
  return { observation, calls };
}

describe('observe', () => {
  it('joins each lease to its bot by the lease id inside the bot id, and reads every host', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(lease, { taskId: 'task-7' });
    const booting = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 10 * 60_000);
    const unmanaged = fleet.world.addLease({ leaseId: 'aaaaaaaa-0000-4000-8000-000000000000', projectName: 'hand-made' });

    const { observation, calls } = await observeFleet();

    const byId = new Map(observation.leases.map((l) => [l.leaseId, l]));
    expect(byId.get(lease.leaseId)).toMatchObject({
      managedHost: PUBLIC_HOST,
      image: IMAGE_14,
      bot: { host: PUBLIC_HOST, hostname: 'darwin-amd64-14', taskId: 'task-7', isDead: false },
    });
    expect(byId.get(booting.leaseId)).toMatchObject({ managedHost: SECURITY_HOST, bot: null });
    expect(byId.get(unmanaged.leaseId)).toMatchObject({ managedHost: null, bot: null });
    expect(observation.hosts.map((h) => [h.host, h.blind])).toEqual([
      [PUBLIC_HOST, false],
      [SECURITY_HOST, false],
    ]);
    expect(calls.counts).toEqual({ 'macservice.find': 1, 'swarming.ListBots': 2 });
    expect((fleet.publicSwarming.requests[0]!.body as { dimensions: unknown }).dimensions).toEqual([
      { key: 'pool', value: PUBLIC_POOL },
      { key: 'os', value: 'Mac' },
    ]);
  });

  it('lists every host at the same time, not one after the other', async () => {
    fleet.publicSwarming.inject({ kind: 'delay', ms: 150 });
    fleet.securitySwarming.inject({ kind: 'delay', ms: 150 });
    const config = parseConfig(fleet.configDocument());
    const clients = buildClients(config, { calls: new CallCounter(), secrets: new SecretResolver({ env: SECRET_ENV }) });
    let inFlight = 0;
    let most = 0;
    const counted = new Map(
      [...clients.swarming].map(([host, lister]) => [
        host,
        {
          listBots: async () => {
            most = Math.max(most, ++inFlight);
            try {
              return await lister.listBots();
            } finally {
              inFlight--;
            }
          },
        },
      ]),
    );
    await observe(config, { macService: clients.macService, swarming: counted }, () => fleet.world.now());
    expect(most).toBe(2);
  });

  it('sets aside bots of other customers or formats, and bots whose lease is gone', async () => {
    fleet.world.addBot(PUBLIC_HOST, { botId: 'linux-amd64--1234.example.com', dimensions: macBotDimensions(PUBLIC_POOL, '14.5') });
    fleet.world.addBot(PUBLIC_HOST, {
      botId: 'darwin-amd64-14--bbbbbbbb-0000-4000-8000-000000000000.otherco.c3.macservice.goog',
      dimensions: macBotDimensions(PUBLIC_POOL, '14.5'),
    });
    fleet.world.addBot(PUBLIC_HOST, {
      botId: 'darwin-amd64-14--cccccccc-0000-4000-8000-000000000000.golang.c3.macservice.goog',
      dimensions: macBotDimensions(PUBLIC_POOL, '14.5'),
    });

    const { observation } = await observeFleet();

    expect(observation.unparsedBots.map((b) => b.botId).sort()).toEqual([
      'darwin-amd64-14--bbbbbbbb-0000-4000-8000-000000000000.otherco.c3.macservice.goog',
      'linux-amd64--1234.example.com',
    ]);
    expect(observation.strayBots).toEqual([
      { host: PUBLIC_HOST, botId: 'darwin-amd64-14--cccccccc-0000-4000-8000-000000000000.golang.c3.macservice.goog', leaseId: 'cccccccc-0000-4000-8000-000000000000', isDead: false, ownHostname: true },
    ]);
  });

  it('prefers the bot on the lease’s own host when its id shows up on two hosts', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.world.addBot(SECURITY_HOST, {
      botId: `darwin-amd64-14--${lease.leaseId}.golang.c3.macservice.goog`,
      isDead: true,
      dimensions: macBotDimensions('luci.golang.security-try-workers', '14.5'),
    });
    fleet.addBotFor(lease);
    const { observation } = await observeFleet();
    expect(observation.leases.find((l) => l.leaseId === lease.leaseId)!.bot).toMatchObject({ host: PUBLIC_HOST, isDead: false });
  });

  it('marks a host blind, not the whole observation, when its bot list fails', async () => {
    fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.securitySwarming.inject({ kind: 'status', status: 403, body: 'the caller "x" doesn\'t have permission', grpcCode: 7 });
    const { observation } = await observeFleet();
    expect(observation.hosts[0]).toMatchObject({ host: PUBLIC_HOST, blind: false });
    expect(observation.hosts[1]).toMatchObject({ host: SECURITY_HOST, blind: true });
    expect(observation.hosts[1]!.blindReason).toMatch(/bot list failed: .*PERMISSION_DENIED/);
    expect(observation.leases[0]!.bot).not.toBeNull();
  });

  it('marks a host blind when it lists no MacService bots while it has managed leases past boot grace', async () => {
    fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.world.addBot(PUBLIC_HOST, { botId: 'linux-amd64--1234.example.com', dimensions: macBotDimensions(PUBLIC_POOL, '14.5') });
    const { observation } = await observeFleet();
    expect(observation.hosts[0]).toMatchObject({ blind: true, botCount: 1 });
    expect(observation.hosts[0]!.blindReason).toContain('listed no MacService bots while 1 managed lease(s) are past boot grace');
  });

  it('does not call a host blind for an empty list while all its leases are still booting', async () => {
    fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 5 * 60_000);
    const { observation } = await observeFleet();
    expect(observation.hosts[0]).toMatchObject({ blind: false, botCount: 0 });
  });

  it('fails the observation when MacService cannot be read', async () => {
    fleet.macService.inject('find', { kind: 'status', status: 500 });
    await expect(observeFleet()).rejects.toThrow(ObservationError);
    await expect(observeFleet()).rejects.toThrow(/MacService leases:find failed: macservice leases:find: HTTP 500/);
  });

  it('suspects a lease list that holds none of a host’s leases while its Swarming lists their live bots', async () => {
    const leases = Array.from({ length: 4 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    leases.forEach((lease) => fleet.addBotFor(lease));
    fleet.macService.inject('find', { kind: 'garbage', body: '{}' });
    const { observation } = await observeFleet();
    expect(observation.leaseListSuspect).toBe(`it holds no lease of ${PUBLIC_HOST}, whose Swarming lists 4 live bots of leases missing from it`);
  });

  it.each([
    ['a few live bots without a lease: bots of leases vacated moments ago linger', 3, 3, null],
    ['as many lingering bots as the last pass could have vacated (a rollout of 20 vacating 5)', 20, 5, null],
    [
      'more live bots of ours than a pass may vacate (20 leases, 10 listed)',
      20,
      10,
      'Swarming lists 10 live bots of configured groups whose leases it lacks, more than the 5 one pass may vacate',
    ],
  ])('judges a lease list lacking %s', async (_name, total, missing, suspect) => {
    const leases = Array.from({ length: total }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    leases.forEach((lease) => fleet.addBotFor(lease));
    leases.slice(0, missing).forEach((lease) => fleet.world.leases.delete(lease.leaseId));
    const { observation } = await observeFleet();
    expect(observation.strayBots).toHaveLength(missing);
    expect(observation.leaseListSuspect).toBe(suspect);
  });

  it('counts only live bots of configured hostnames as evidence: dead ones and other prefixes linger for other reasons', async () => {
    const leases = Array.from({ length: 20 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    leases.forEach((lease, i) => fleet.addBotFor(lease, { isDead: i < 8 }));
    for (let i = 0; i < 5; i++) {
      fleet.world.addBot(PUBLIC_HOST, { botId: `darwin-removed--0b0b0b0b-0000-4000-8000-00000000000${i}.golang.c3.macservice.goog`, dimensions: macBotDimensions(PUBLIC_POOL, '14.5') });
    }
    leases.slice(0, 10).forEach((lease) => fleet.world.leases.delete(lease.leaseId));
    const { observation } = await observeFleet();
    expect(observation.strayBots).toHaveLength(15);
    expect(observation.leaseListSuspect).toBeNull();
  });

  it('marks a host blind when it lists bots, but none of its leases past boot grace: all would be missing', async () => {
    Array.from({ length: 3 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.world.addBot(PUBLIC_HOST, {
      botId: 'darwin-amd64-14--0a0a0a0a-0000-4000-8000-000000000000.golang.c3.macservice.goog',
      isDead: true,
      dimensions: macBotDimensions(PUBLIC_POOL, '14.5'),
    });
    const { observation } = await observeFleet();
    expect(observation.hosts[0]).toMatchObject({ blind: true, blindReason: 'listed no bot of any of its 3 managed lease(s) past boot grace (only 1 bot(s) of other leases)' });
  });

  it('does not call a host blind when only some of its leases lack a bot', async () => {
    const leases = Array.from({ length: 3 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.addBotFor(leases[0]!, { isDead: true });
    const { observation } = await observeFleet();
    expect(observation.hosts[0]).toMatchObject({ blind: false });
  });

  it('leaves a lease id listed twice with different content out, and its bot is no stray', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(lease);
    const other = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(other);
    const copy = (projectName: string) => ({ lease: { leaseId: lease.leaseId, vmResourceNamespace: { customerName: 'golang', projectName }, expires: '2030-01-01T00:00:00Z' }, instanceSpecification: {} });
    const otherCopy = { lease: { leaseId: other.leaseId, vmResourceNamespace: { customerName: 'golang', projectName: `makemac/${PUBLIC_HOST}` }, expires: '2030-01-01T00:00:00Z' }, instanceSpecification: {} };
    fleet.macService.inject('find', { kind: 'garbage', body: JSON.stringify({ instances: [copy(`makemac/${PUBLIC_HOST}`), otherCopy, copy('hand-made')] }) });
    const { observation } = await observeFleet();
    expect(observation.leases.map((l) => l.leaseId)).toEqual([other.leaseId]);
    expect(observation.conflictingLeases).toEqual([{ leaseId: lease.leaseId, copies: 2 }]);
    expect(observation.strayBots).toEqual([]);
  });

  it('collapses a lease id listed twice to one lease', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const { observation: once } = await observeFleet();
    expect(once.leases).toHaveLength(1);
    fleet.macService.inject('find', {
      kind: 'garbage',
      body: JSON.stringify({ instances: [0, 1].map(() => ({ lease: { leaseId: lease.leaseId, vmResourceNamespace: { customerName: 'golang', projectName: `makemac/${PUBLIC_HOST}` }, expires: '2030-01-01T00:00:00Z' }, instanceSpecification: {} })) }),
      times: 1,
    });
    const { observation } = await observeFleet();
    expect(observation.leases.map((l) => l.leaseId)).toEqual([lease.leaseId]);
  });
});
