// The limits that keep a stateless destroyer from destroying the fleet, end to end. Each is
// proven by a scenario that does destroy it once the limit is out of the way.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config/load';
import { MacServiceClient } from '../shared/macservice/client';
import { joinFleet } from '../shared/observe';
import { plan } from '../shared/plan/plan';
import { IMAGE_14, IMAGE_15, PUBLIC_HOST, SECRETS, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { mutationsOf, requestsOf, runFleetPass } from './support/pass-harness';
import { HOUR } from './builders';


let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());

/** The fake fleet's config with darwin-amd64-14's count set and any policy. */
function documentWith(amdCount: number, policy: Record<string, unknown> = {}) {
  const doc = fleet.configDocument({ policy });
  doc.swarming[0]!.groups[0]!.count = amdCount;
  return doc;
}

describe('the brake', () => {
  /** The public host's 10 leases (8 darwin-amd64-14, 2 darwin-arm64-15) with 8 bots reported dead: 80%. */
  function seedMassDeath(): string[] {
    const dead: string[] = [];
    for (let i = 0; i < 8; i++) {
      const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
      fleet.addBotFor(lease, { isDead: true, lastSeenAt: Date.now() - 2 * HOUR });
      dead.push(lease.leaseId);
    }
    for (let i = 0; i < 2; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    return dead;
  }

  it('engages when Swarming reports 80% of a host dead: zero vacates, no more creates than the surge, an ERROR, a failed pass', async () => {
    const dead = seedMassDeath();
    const result = await runFleetPass(fleet, { document: documentWith(8) });

    expect(requestsOf(fleet, 'vacate')).toEqual([]);
    // The refused leases serve nothing, so they are replaced, but only within count + surge (8 + 2).
    expect(requestsOf(fleet, 'create')).toHaveLength(2);
    for (const id of dead) expect(fleet.world.leases.has(id)).toBe(true);
    const brakes = result.entries.filter((e) => e.fields.event === 'safety.brake');
    expect(brakes).toHaveLength(1);
    expect(brakes[0]).toMatchObject({ severity: 'ERROR', fields: { swarmingHost: PUBLIC_HOST, wanted: 8, limit: 5, managedLeases: 10 } });
    const refused = result.entries.filter((e) => e.fields.event === 'action.refused');
    expect(refused.map((e) => [e.fields.refusal, e.fields.reason]).sort()).toEqual(Array(8).fill(['brake', 'dead']));
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['brake'] });
  });

  it('without it (brakeMinimum above the deaths), the same report vacates 80% of the host in one pass', async () => {
    const dead = seedMassDeath();
    const result = await runFleetPass(fleet, { document: documentWith(8, { brakeMinimum: 10 }) });

    expect(requestsOf(fleet, 'vacate').map((r) => r.body.leaseId).sort()).toEqual([...dead].sort());
    for (const id of dead) expect(fleet.world.leases.has(id)).toBe(false);
    expect(result.entries.filter((e) => e.fields.event === 'safety.brake')).toEqual([]);
  });

  it('without it (brakeFraction 1, a budget of all), the same report vacates 80% of the host in one pass', async () => {
    const dead = seedMassDeath();
    await runFleetPass(fleet, { document: documentWith(8, { brakeFraction: 1, maxVacatesPerPass: '100%' }) });
    expect(requestsOf(fleet, 'vacate')).toHaveLength(dead.length);
  });
});

describe('the vacate budget', () => {
  /** 20 healthy darwin-amd64-14 leases (the last 4 busy), plus the rest of the converged fleet. */
  function seedTwenty(): { idle: string[]; busy: string[] } {
    const idle: string[] = [];
    const busy: string[] = [];
    for (let i = 0; i < 20; i++) {
      const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, (2 + i / 10) * HOUR);
      fleet.addBotFor(lease, i >= 16 ? { taskId: `task-${i}` } : {});
      (i >= 16 ? busy : idle).push(lease.leaseId);
    }
    for (let i = 0; i < 2; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    return { idle, busy };
  }

  it('a count lowered from 20 to 2 vacates only budget-many per pass (idle ones), deferring the rest', async () => {
    const { idle, busy } = seedTwenty();
    const result = await runFleetPass(fleet, { document: documentWith(2) });

    // 23 managed leases: the budget is ceil(25% × 23) = 6 per pass.
    const vacated = requestsOf(fleet, 'vacate').map((r) => r.body.leaseId as string);
    expect(vacated).toHaveLength(6);
    for (const id of vacated) expect(idle).toContain(id);
    expect(result.outcomes.filter((o) => o.action.kind === 'vacate').every((o) => o.action.reason === 'excess' && o.outcome === 'ok')).toBe(true);
    // 18 excess: the 16 idle ones are proposed, 6 go and 10 wait for the budget; 2 busy ones wait for their tasks.
    const deferred = result.entries.filter((e) => e.fields.event === 'action.deferred');
    expect(deferred.filter((e) => e.fields.deferral === 'vacate-budget')).toHaveLength(10);
    expect(deferred.filter((e) => e.fields.deferral === 'busy')).toHaveLength(2);
    expect(deferred).toHaveLength(12);
    for (const entry of deferred) expect(entry.fields.reason).toBe('excess');
    expect(fleet.world.leases.size).toBe(23 - 6);
    for (const id of busy) expect(fleet.world.leases.has(id)).toBe(true);
    expect(result.summary.outcome).toBe('ok');
  });

  it('and passes on, six at a time, until the busy ones are all that is left above count', async () => {
    const { busy } = seedTwenty();
    const perPass: number[] = [];
    const vacatedBy: string[][] = [];
    for (let pass = 0; pass < 4; pass++) {
      // Swarming marks a vacated VM's bot dead ten minutes after it last called in: by the pass
      // after next. Until then it lingers, live, with no lease (which the lease-list check allows).
      for (const id of vacatedBy[pass - 2] ?? []) {
        for (const bot of fleet.world.hostBots(PUBLIC_HOST).values()) if (bot.botId.includes(id)) bot.isDead = true;
      }
      const before = requestsOf(fleet, 'vacate').length;
      await runFleetPass(fleet, { document: documentWith(2) });
      vacatedBy.push(requestsOf(fleet, 'vacate').slice(before).map((r) => r.body.leaseId));
      perPass.push(vacatedBy[pass]!.length);
    }
    // The budget shrinks with the fleet (max(brakeMinimum 3, 25% of managed leases)): 6, 5, 3, then the last 2 idle.
    expect(perPass).toEqual([6, 5, 3, 2]);
    const amd = [...fleet.world.leases.values()].filter((l) => l.metadata.some((m) => m.value === 'darwin-amd64-14'));
    // Count 2 is met by busy leases, which finish their tasks first; no idle one is left.
    expect(amd.map((l) => l.leaseId).sort()).toEqual([...busy].sort());
  });

  it('a Swarming host dropped from the config by mistake: its leases are no longer ours, and none is touched', async () => {
    seedTwenty();
    const doc = fleet.configDocument();
    doc.swarming = doc.swarming.filter((server) => server.host !== PUBLIC_HOST);
    const result = await runFleetPass(fleet, { document: doc });
    expect(mutationsOf(fleet).filter((r) => r.verb !== 'create')).toEqual([]);
    expect(result.plan!.verdicts.every((v) => v.swarmingHost !== PUBLIC_HOST)).toBe(true);
  });

  it('a retired host is drained budget-many per pass: idle first, busy leases wait for their tasks', async () => {
    seedTwenty();
    const doc = fleet.configDocument();
    const publicServer = doc.swarming.find((server) => server.host === PUBLIC_HOST)!;
    doc.swarming = doc.swarming.filter((server) => server !== publicServer);
    Object.assign(doc, { retiredHosts: [{ host: PUBLIC_HOST, url: publicServer.url, pool: publicServer.pool }] });
    const busy = [...fleet.world.hostBots(PUBLIC_HOST).values()].filter((bot) => bot.taskId).map((bot) => bot.botId);
    const result = await runFleetPass(fleet, { document: doc });
    // Retired leases are not health vacates, so the brake does not see them: the budget is what holds.
    const vacates = result.outcomes.filter((o) => o.action.kind === 'vacate');
    expect(vacates).toHaveLength(6);
    expect(vacates.every((o) => o.action.reason === 'retired' && o.action.swarmingHost === PUBLIC_HOST)).toBe(true);
    const deferred = result.plan!.deferred.filter((d) => d.action.kind === 'vacate' && d.action.reason === 'retired');
    expect(deferred.filter((d) => d.reason === 'busy')).toHaveLength(busy.length);
    expect(busy.length).toBeGreaterThan(0);
    const vacatedBots = vacates.map((o) => (o.action.kind === 'vacate' ? o.action.leaseId : ''));
    expect(busy.some((botId) => vacatedBots.some((id) => botId.includes(id)))).toBe(false);
  });

  it('without it (maxVacatesPerPass 100%), the same typo vacates 18 of 20 leases in one pass', async () => {
    seedTwenty();
    for (const bot of fleet.world.hostBots(PUBLIC_HOST).values()) bot.taskId = '';
    await runFleetPass(fleet, { document: documentWith(2, { maxVacatesPerPass: '100%' }) });
    expect(requestsOf(fleet, 'vacate')).toHaveLength(18);
  });
});

describe('the vacate ceiling', () => {
  /** A MacService answer holding `count` phantom managed leases of a group no longer configured. */
  function phantomObservation(count: number) {
    const config = parseConfig(documentWith(3, { maxVacatesPerPass: '25%' }));
    const now = Date.now();
    const leases = Array.from({ length: count }, (_, i) => ({
      leaseId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      customerName: 'golang',
      projectName: `makemac/${PUBLIC_HOST}`,
      expiresAt: now + 20 * HOUR,
      image: 'f'.repeat(64),
      metadata: { 'golang.hostname': 'darwin-removed' },
    }));
    // Each with an idle live bot, so the host is not blind and every phantom is an orphan to vacate.
    const bots = leases.map((lease) => ({
      botId: `darwin-removed--${lease.leaseId}.golang.c3.macservice.goog`,
      isDead: false,
      quarantined: false,
      inMaintenance: false,
      taskId: null,
      lastSeenAt: now,
      firstSeenAt: now - 2 * HOUR,
    }));
    const reads = [
      { host: PUBLIC_HOST, bots, error: null },
      { host: SECURITY_HOST, bots: [], error: null },
    ];
    return { config, now, observation: joinFleet(config, leases, reads, now) };
  }

  it('50,000 phantom managed leases get at most 200 vacates in one pass (25% would be 12,500); the rest are deferred', () => {
    const { config, now, observation } = phantomObservation(50_000);
    const result = plan(config, observation, now);
    expect(result.actions.filter((a) => a.kind === 'vacate')).toHaveLength(200);
    expect(result.deferred.filter((d) => d.reason === 'vacate-budget')).toHaveLength(50_000 - 200);
    expect(result.deferred.find((d) => d.reason === 'vacate-budget')!.detail).toBe('over the vacate budget of 200 per pass');
  });

  it('is a knob: vacateCeiling 5 caps the same fleet at 5', () => {
    const { now, observation } = phantomObservation(1_000);
    const config = parseConfig(documentWith(3, { vacateCeiling: 5 }));
    expect(plan(config, observation, now).actions.filter((a) => a.kind === 'vacate')).toHaveLength(5);
  });
});

describe('blind-host protection', () => {
  /** 10 managed leases on the public host, all past grace, 4 of them due for renewal. */
  function seedTen(): { expiring: string[]; all: string[] } {
    const expiring: string[] = [];
    const all: string[] = [];
    for (let i = 0; i < 10; i++) {
      const lease = fleet.addManagedLease(PUBLIC_HOST, i < 8 ? 'darwin-amd64-14' : 'darwin-arm64-15', i < 8 ? IMAGE_14 : IMAGE_15, i < 4 ? 3 * HOUR : 2 * HOUR - 30 * 60_000);
      fleet.addBotFor(lease);
      all.push(lease.leaseId);
      if (i < 4) expiring.push(lease.leaseId);
    }
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    return { expiring, all };
  }

  it('Swarming answering success with an empty bot list blinds the host: zero vacates, renewals still sent', async () => {
    const { expiring, all } = seedTen();
    fleet.publicSwarming.inject({ kind: 'empty' });
    const result = await runFleetPass(fleet, { document: documentWith(8) });

    expect(requestsOf(fleet, 'vacate')).toEqual([]);
    expect(requestsOf(fleet, 'create')).toEqual([]);
    expect(requestsOf(fleet, 'renew').map((r) => r.body.leaseId).sort()).toEqual([...expiring].sort());
    for (const id of expiring) expect(fleet.world.leases.get(id)!.expiresAt - Date.now()).toBeGreaterThan(22 * HOUR);
    for (const id of all) expect(fleet.world.leases.has(id)).toBe(true);
    expect(result.summary.blindHosts).toEqual([{ host: PUBLIC_HOST, reason: expect.stringMatching(/listed no MacService bots while 10 managed lease/) }]);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['blind-host'] });
    expect(result.plan!.verdicts.filter((v) => v.swarmingHost === PUBLIC_HOST).every((v) => v.state === 'unknown')).toBe(true);
    expect(result.entries.some((e) => e.fields.event === 'observe.error' && e.fields.swarmingHost === PUBLIC_HOST)).toBe(true);
  });

  it('without it, the same empty list reads as 10 missing VMs and (with the brake loose) plans to vacate all but the evidence of a halted rollout', async () => {
    seedTen();
    const config = parseConfig(documentWith(8, { brakeMinimum: 10, maxVacatesPerPass: '100%' }));
    const now = Date.now();
    const leases = await new MacServiceClient({ url: fleet.macService.url, apiKey: async () => SECRETS.apiKey, customer: 'golang', timeoutMs: 2_000 }).find().then((list) => list.leases);
    const observation = joinFleet(config, leases, [{ host: PUBLIC_HOST, bots: [], error: null }, { host: SECURITY_HOST, bots: [], error: null }], now);
    expect(observation.hosts[0]!.blind).toBe(true);
    // Take the protection away: the host is believed.
    observation.hosts[0] = { ...observation.hosts[0]!, blind: false, blindReason: null };
    const unprotected = plan(config, observation, now);
    const vacates = unprotected.actions.filter((a) => a.kind === 'vacate' && a.swarmingHost === PUBLIC_HOST);
    // Each group keeps max(2, surge) of its never-booted leases as evidence (rollout-halt.ts); the rest go.
    expect(vacates).toHaveLength(6);
    expect(vacates.every((a) => a.reason === 'missing')).toBe(true);
    expect(unprotected.deferred.filter((d) => d.reason === 'evidence')).toHaveLength(4);
  });
});
