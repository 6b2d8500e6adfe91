import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownedSwarmingHosts, type Config, type Size } from '../shared/config/schema';
import { isWithinFirstHour } from '../shared/fleet';
import type { Observation, ObservedLease } from '../shared/observe';
import { attributeLease } from '../shared/plan/attribution';
import { brakeLimit, surgeOf, vacateBudget } from '../shared/plan/limits';
import { plan } from '../shared/plan/plan';
import { phaseOf, type Action, type Plan } from '../shared/plan/types';
import { CREATE_REASONS, DEFERRAL_REASONS, isHealthReason, RENEW_REASONS, VACATE_REASONS } from '../shared/plan/vocabulary';
import { config, HOST, HOST2, HOUR, lease, NOW, observation, type GroupSpec, type LeaseSpec } from './builders';

const RUNS = { numRuns: 200 };
const HOSTNAMES = ['darwin-amd64-13', 'darwin-amd64-14', 'darwin-arm64-15'];
const IMAGES = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
const REMOVED_HOST = 'old-swarm.example.com';

const groupsArb = (host: string) =>
  fc
    .uniqueArray(
      fc.record({ hostname: fc.constantFrom(...HOSTNAMES), image: fc.constantFrom(...IMAGES), count: fc.integer({ min: 0, max: 5 }) }),
      { minLength: 1, maxLength: 3, comparator: (a, b) => a.hostname === b.hostname || a.image === b.image },
    )
    .map((groups): GroupSpec[] => groups.map((g) => ({ ...g, host })));

const policyArb = fc.record({
  bootGrace: fc.constantFrom('30m', '60m', '2h'),
  deadAfter: fc.constantFrom('10m', '30m'),
  renewBefore: fc.constantFrom('12h', '22h', '23h', '24h'),
  maxSurge: fc.constantFrom<Size[]>(0, 1, '25%', '50%'),
  maxUnavailable: fc.constantFrom<Size[]>(0, 1, '25%'),
  maxCreatesPerPass: fc.integer({ min: 0, max: 6 }),
  maxVacatesPerPass: fc.constantFrom<Size[]>(0, 1, '25%', '100%'),
  brakeMinimum: fc.integer({ min: 0, max: 4 }),
  brakeFraction: fc.constantFrom(0, 0.25, 0.5, 1),
  vacateQuarantined: fc.boolean(),
});

const configArb: fc.Arbitrary<Config> = fc
  .record({ one: groupsArb(HOST), two: groupsArb(HOST2), hosts: fc.subarray([HOST, HOST2], { minLength: 1 }), policy: policyArb })
  .map(({ one, two, hosts, policy }) =>
    config({ hosts, groups: [...one, ...two].filter((g) => hosts.includes(g.host!)), policy, retiredHosts: [REMOVED_HOST] }),
  );

const oneIn = (n: number) => fc.integer({ min: 1, max: n }).map((k) => k === 1);

const botArb = fc.record({
  isDead: oneIn(5),
  quarantined: oneIn(5),
  inMaintenance: oneIn(8),
  taskId: fc.option(fc.constant('task-1')),
  lastSeenAgo: fc.option(fc.integer({ min: 0, max: 2 * HOUR })),
  hostname: fc.constantFrom(...HOSTNAMES, 'darwin-amd64-10'),
});

const leaseSpecArb: fc.Arbitrary<LeaseSpec> = fc.record({
  host: fc.oneof(
    { weight: 4, arbitrary: fc.constant<string | null>(HOST) },
    { weight: 4, arbitrary: fc.constant(HOST2) },
    { weight: 1, arbitrary: fc.constant(REMOVED_HOST) },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  image: fc.constantFrom(...IMAGES, ''),
  hostname: fc.option(fc.constantFrom(...HOSTNAMES, 'darwin-amd64-10'), { freq: 4 }),
  createdAgo: fc.option(fc.integer({ min: 0, max: 48 * HOUR })),
  expiresIn: fc.option(fc.integer({ min: -HOUR, max: 24 * HOUR })),
  bot: fc.option(botArb, { freq: 4 }),
});

const leasesArb = fc
  .array(leaseSpecArb, { maxLength: 16 })
  .map((specs) => specs.map((spec, i) => lease({ ...spec, id: `l${String(i).padStart(2, '0')}` })));

// As joinFleet does: a lease is managed only when its tag names a configured or retired host.
const worldArb = fc.record({ config: configArb, leases: leasesArb, blind: fc.subarray([HOST, HOST2]) }).map((w) => {
  const owned = ownedSwarmingHosts(w.config);
  const leases = w.leases.map((l) => (l.managedHost !== null && owned.has(l.managedHost) ? l : { ...l, managedHost: null }));
  return { ...w, leases, observation: observation(leases, { blind: Object.fromEntries(w.blind.map((h) => [h, 'bot list failed'])) }) };
});

const leaseIdsOf = (p: Plan) => [
  ...p.actions.flatMap((a) => (a.kind === 'create' ? [] : [a.leaseId])),
  ...p.deferred.flatMap((d) => (d.action.kind === 'create' ? [] : [d.action.leaseId])),
  ...p.refused.map((r) => r.action.leaseId),
  ...p.verdicts.map((v) => v.leaseId),
];

describe('plan, over random fleets', () => {
  it('never touches, counts or mentions an unmanaged lease', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const unmanaged = new Set(w.leases.filter((l) => l.managedHost === null).map((l) => l.leaseId));
        expect(leaseIdsOf(plan(w.config, w.observation, NOW)).filter((id) => unmanaged.has(id))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('vacates nothing on a blind host', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const hostOf = new Map(w.leases.map((l) => [l.leaseId, l.managedHost]));
        const vacated = plan(w.config, w.observation, NOW).actions.flatMap((a) => (a.kind === 'vacate' ? [a.leaseId] : []));
        expect(vacated.filter((id) => w.blind.includes(hostOf.get(id)!))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('defers, as blind-host, every outdated and orphaned lease of a blind host and its groups’ excess, and only those', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const result = plan(w.config, w.observation, NOW);
        const blindDeferred = result.deferred.filter((d) => d.reason === 'blind-host');
        const deferredAs = (reason: string) =>
          blindDeferred.flatMap((d) => (d.action.kind === 'vacate' && d.action.reason === reason ? [d.action.leaseId] : [])).sort();
        const onBlind = w.leases
          .filter((l) => l.managedHost !== null && w.blind.includes(l.managedHost))
          .map((l) => ({ l, attribution: attributeLease(w.config, l) }));
        expect(deferredAs('outdated')).toEqual(onBlind.filter((x) => x.attribution.group !== null && !x.attribution.current).map((x) => x.l.leaseId));
        expect(deferredAs('orphaned')).toEqual(onBlind.filter((x) => x.attribution.server !== null && x.attribution.group === null).map((x) => x.l.leaseId));
        for (const server of w.config.swarming.filter((s) => w.blind.includes(s.host))) {
          for (const group of server.groups) {
            const current = onBlind.filter((x) => x.attribution.group === group && x.attribution.current).map((x) => x.l.leaseId);
            const excess = deferredAs('excess').filter((id) => current.includes(id));
            expect(excess).toHaveLength(Math.max(0, current.length - group.count));
          }
        }
        expect(blindDeferred.every((d) => d.action.kind === 'vacate' && ['outdated', 'orphaned', 'excess', 'retired'].includes(d.action.reason))).toBe(true);
      }),
      RUNS,
    );
  });

  it('creates per group at most its deficit, not counting leases held back from a health vacate, and never past count + surge', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const result = plan(w.config, w.observation, NOW);
        const vacated = new Set(result.actions.flatMap((a) => (a.kind === 'vacate' ? [a.leaseId] : [])));
        const heldBack = (d: { action: Action }) => (d.action.kind === 'vacate' && isHealthReason(d.action.reason) ? [d.action.leaseId] : []);
        const evidence = new Set(result.deferred.flatMap((d) => (d.reason === 'evidence' ? heldBack(d) : [])));
        const pending = new Set([...result.deferred.filter((d) => d.reason !== 'evidence').flatMap(heldBack), ...result.refused.flatMap(heldBack)]);
        for (const server of w.config.swarming) {
          for (const group of server.groups) {
            const kept = w.leases.filter(
              (l) =>
                l.managedHost === server.host &&
                !vacated.has(l.leaseId) &&
                !evidence.has(l.leaseId) &&
                attributeLease(w.config, l).group === group,
            );
            const status = result.groups.find((g) => g.swarmingHost === server.host && g.group === group.hostname)!;
            const image = status.rolloutHalted ? status.backfillImage : group.image;
            const serving = kept.filter((l) => l.image === image && !pending.has(l.leaseId)).length;
            const creates = result.actions.filter((a) => a.kind === 'create' && a.swarmingHost === server.host && a.group === group.hostname);
            if (image === null) expect(creates).toEqual([]);
            expect(creates.every((a) => a.image === image)).toBe(true);
            // A halted group is backfilled to one spare above its count (README, Replacing and halting).
            const target = group.count + (status.rolloutHalted ? 1 : 0);
            expect(creates.length).toBeLessThanOrEqual(Math.max(0, target - serving));
            if (creates.length > 0) expect(kept.length + creates.length).toBeLessThanOrEqual(group.count + surgeOf(w.config.policy, group.count));
          }
        }
      }),
      RUNS,
    );
  });

  it('is deterministic: the same input twice, or its leases and hosts shuffled, give equal plans', () => {
    const arb = worldArb.chain((w) =>
      fc
        .tuple(
          fc.shuffledSubarray(w.leases, { minLength: w.leases.length }),
          fc.shuffledSubarray(w.observation.hosts, { minLength: w.observation.hosts.length }),
        )
        .map(([leases, hosts]) => ({ w, shuffled: { ...w.observation, leases, hosts } as Observation })),
    );
    fc.assert(
      fc.property(arb, ({ w, shuffled }) => {
        const first = plan(w.config, w.observation, NOW);
        expect(plan(w.config, structuredClone(w.observation), NOW)).toEqual(first);
        expect(plan(w.config, shuffled, NOW)).toEqual(first);
      }),
      RUNS,
    );
  });

  it('gives every action one reason from the closed set, at most one action per lease, in phase order', () => {
    const reasons = {
      vacate: Object.keys(VACATE_REASONS),
      renew: Object.keys(RENEW_REASONS),
      create: Object.keys(CREATE_REASONS),
    };
    const deferrals = Object.keys(DEFERRAL_REASONS);
    const phases = ['health-vacate', 'create', 'renew', 'replace-vacate'];
    fc.assert(
      fc.property(worldArb, (w) => {
        const result = plan(w.config, w.observation, NOW);
        for (const action of result.actions) {
          expect(reasons[action.kind]).toContain(action.reason);
          expect(action.detail).not.toBe('');
        }
        for (const entry of result.deferred) expect(deferrals).toContain(entry.reason);
        for (const entry of result.refused) expect(entry.reason).toBe('brake');
        const ids = result.actions.flatMap((a) => (a.kind === 'create' ? [] : [a.leaseId]));
        expect(new Set(ids).size).toBe(ids.length);
        // A lease gets at most one decision: a vacate, a refusal or a deferral (a renewal may join any).
        const decisions = [
          ...result.actions.flatMap((a) => (a.kind === 'vacate' ? [a.leaseId] : [])),
          ...result.refused.map((r) => r.action.leaseId),
          ...result.deferred.flatMap((d) => (d.action.kind === 'create' ? [] : [d.action.leaseId])),
        ];
        expect(new Set(decisions).size).toBe(decisions.length);
        const order = result.actions.map((a) => phases.indexOf(phaseOf(a)));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }),
      RUNS,
    );
  });

  it('keeps within the brake and the vacate budget, and never renews a lease in its first hour', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const result = plan(w.config, w.observation, NOW);
        const byId = new Map(w.leases.map((l) => [l.leaseId, l]));
        const vacates = result.actions.filter((a) => a.kind === 'vacate');
        const managed = w.leases.filter((l) => l.managedHost !== null);
        expect(vacates.length).toBeLessThanOrEqual(vacateBudget(w.config.policy, managed.length));
        for (const host of new Set(managed.map((l) => l.managedHost!))) {
          const health = vacates.filter((a) => a.swarmingHost === host && phaseOf(a) === 'health-vacate').length;
          const onHost = managed.filter((l) => l.managedHost === host).length;
          expect(health).toBeLessThanOrEqual(brakeLimit(w.config.policy, onHost));
        }
        for (const action of result.actions) {
          if (action.kind === 'renew') expect(isWithinFirstHour(byId.get(action.leaseId)!, NOW)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('plans nothing for a converged healthy fleet', () => {
    const convergedArb = fc
      .record({
        config: configArb,
        renewBefore: fc.constantFrom('12h', '22h', '23h'),
        seeds: fc.array(
          fc.record({
            busy: fc.boolean(),
            goMade: fc.boolean(),
            createdAgo: fc.integer({ min: 0, max: 48 * HOUR }),
            margin: fc.integer({ min: 1, max: 12 * HOUR }),
          }),
          { minLength: 30, maxLength: 30 },
        ),
        unmanaged: fc.array(leaseSpecArb.map((spec) => ({ ...spec, host: null })), { maxLength: 4 }),
      })
      .map(({ config: base, renewBefore, seeds, unmanaged }) => {
        const cfg = { ...base, policy: { ...base.policy, renewBefore: Number.parseInt(renewBefore) * HOUR } };
        const leases: ObservedLease[] = [];
        for (const server of cfg.swarming) {
          for (const group of server.groups) {
            for (let i = 0; i < group.count; i++) {
              const seed = seeds[leases.length % seeds.length]!;
              leases.push(
                lease({
                  id: `m${String(leases.length).padStart(2, '0')}`,
                  host: server.host,
                  hostname: seed.goMade ? null : group.hostname,
                  image: group.image,
                  createdAgo: seed.goMade ? null : seed.createdAgo,
                  expiresIn: Math.min(24 * HOUR, cfg.policy.renewBefore + seed.margin),
                  bot: { hostname: group.hostname, taskId: seed.busy ? 'task-1' : null },
                }),
              );
            }
          }
        }
        unmanaged.forEach((spec, i) => leases.push(lease({ ...spec, id: `u${i}` })));
        return { config: cfg, observation: observation(leases) };
      });
    fc.assert(
      fc.property(convergedArb, ({ config: cfg, observation: obs }) => {
        const result = plan(cfg, obs, NOW);
        expect({ actions: result.actions, deferred: result.deferred, refused: result.refused }).toEqual({
          actions: [],
          deferred: [],
          refused: [],
        });
      }),
      RUNS,
    );
  });
});
