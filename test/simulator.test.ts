// Short, deterministic simulations. Scenario timelines are shifted earlier where the property
// does not depend on when the fault starts, so the whole file stays within a few seconds.
import { describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario, type ScenarioEvent } from '../shared/sim/scenarios';
import { simulate, type SimulationResult } from '../shared/sim/simulator';

const HOURS = 1 / 24;

/** A built-in scenario with its events moved `shiftHours` earlier. */
function shifted(name: string, shiftHours: number, overrides: Partial<Scenario> = {}): Scenario {
  const base = SCENARIOS[name]!;
  const move = (e: ScenarioEvent): ScenarioEvent => ('until' in e ? { ...e, at: e.at - shiftHours, until: e.until - shiftHours } : { ...e, at: e.at - shiftHours });
  return { ...base, events: base.events.map(move), ...overrides };
}

function expectNoUnmanagedTouched(...results: SimulationResult[]) {
  for (const result of results) expect(result.metrics.unmanagedLeasesTouched).toBe(0);
}

describe('the simulator', () => {
  it('gives identical numbers for the same seed, and touches no unmanaged lease', async () => {
    const first = await simulate({ scenario: 'steady', days: 8 * HOURS, seed: 7, policy: 'default' });
    const again = await simulate({ scenario: 'steady', days: 8 * HOURS, seed: 7, policy: 'default' });
    expect(again.metrics).toEqual(first.metrics);
    expect(again.series).toEqual(first.series);
    expect(first.metrics.passes).toBe(48);
    expect(first.metrics.renewals).toBeGreaterThan(0);
    expectNoUnmanagedTouched(first);
  });

  it('loses no lease to expiry through a 48h Swarming outage under the default policy; Go makemac loses them all', async () => {
    // The outage starts at 2h; a lease not renewed after that expires by 26h at the latest.
    const days = 27 * HOURS;
    const ours = await simulate({ scenario: 'swarming-outage', days, seed: 1, policy: 'default' });
    const go = await simulate({ scenario: 'swarming-outage', days, seed: 1, policy: 'go-makemac' });
    expect(ours.metrics.leasesLostToExpiry).toBe(0);
    expect(ours.metrics.vacatesByReason.missing ?? 0).toBe(0);
    expect(ours.metrics.availability).toBeGreaterThan(0.9);
    expect(go.metrics.leasesLostToExpiry).toBe(25);
    expectNoUnmanagedTouched(ours, go);
  });

  it('does not mass-vacate when a Swarming host lists no bots; Go makemac vacates the whole host', async () => {
    // The 4h empty window, from 1h instead of 6h.
    const scenario = shifted('empty-bot-list', 5);
    const ours = await simulate({ scenario, days: 6 * HOURS, seed: 1, policy: 'default' });
    const go = await simulate({ scenario, days: 6 * HOURS, seed: 1, policy: 'go-makemac' });
    expect(ours.metrics.vacatesByReason.missing ?? 0).toBe(0);
    expect(Object.values(ours.metrics.vacatesByReason).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2);
    expect(ours.metrics.tasksInterrupted).toBe(0);
    // All 18 leases of chromium-swarm, at least once.
    expect(go.metrics.vacatesByReason.missing).toBeGreaterThanOrEqual(18);
    expectNoUnmanagedTouched(ours, go);
  });

  it('keeps the old capacity when the new image never boots; Go makemac loses it', async () => {
    // Only the bad image fails, so any capacity lost is the policy's doing.
    const scenario = shifted('bad-image', 11, {
      dynamics: { ...SCENARIOS['bad-image']!.dynamics, bootFailureRate: 0, deathPerHour: 0, rebootPerHour: 0, quarantinePerHour: 0 },
    });
    const ours = await simulate({ scenario, days: 4 * HOURS, seed: 1, policy: 'default' });
    const go = await simulate({ scenario, days: 4 * HOURS, seed: 1, policy: 'go-makemac' });
    expect(ours.metrics.minRolloutCapacity).toBe(1);
    expect(ours.metrics.rolloutHours).toBe('never');
    expect(ours.metrics.vacatesByReason.outdated ?? 0).toBe(0);
    expect(go.metrics.minRolloutCapacity).toBe(0);
    expect(go.metrics.vacatesByReason.outdated).toBe(6);
    expect(ours.metrics.availability).toBeGreaterThan(go.metrics.availability);
    expectNoUnmanagedTouched(ours, go);
  });

  it('halts a rollout to an image that never boots and backfills lost capacity on the old image', async () => {
    // The bad image from 1h, fixed at 25h; old leases die often, so there is capacity to backfill.
    const scenario = shifted('bad-image', 11, {
      dynamics: { ...SCENARIOS['bad-image']!.dynamics, bootFailureRate: 0, deathPerHour: 0.15, rebootPerHour: 0, quarantinePerHour: 0 },
    });
    const ours = await simulate({ scenario, days: 6 * HOURS, seed: 1, policy: 'default' });
    const go = await simulate({ scenario, days: 6 * HOURS, seed: 1, policy: 'go-makemac' });
    expect(ours.metrics.rolloutHaltedHours).toBeGreaterThan(3);
    expect(ours.metrics.backfills).toBeGreaterThan(0);
    expect(ours.halts.length).toBeGreaterThan(0);
    expect(ours.backfillHours).toHaveLength(ours.metrics.backfills);
    expect(ours.metrics.vacatesByReason.outdated ?? 0).toBe(0);
    expect(ours.metrics.availability).toBeGreaterThan(go.metrics.availability);
    expect(ours.metrics.minRolloutCapacity!).toBeGreaterThan(go.metrics.minRolloutCapacity!);
    expectNoUnmanagedTouched(ours, go);
  });

  it('does not churn a fresh group whose image never boots: it keeps evidence and waits; Go makemac recreates every hour', async () => {
    // The group's count is raised at 1h; its image is fixed at 25h, after this run.
    const scenario = shifted('bad-image-fresh', 5);
    const ours = await simulate({ scenario, days: 5 * HOURS, seed: 1, policy: 'default' });
    const go = await simulate({ scenario, days: 5 * HOURS, seed: 1, policy: 'go-makemac' });
    expect(ours.metrics.rolloutHaltedHours).toBeGreaterThan(2);
    expect(ours.metrics.backfills).toBe(0);
    expect(ours.metrics.vacatesByReason.missing ?? 0).toBeLessThanOrEqual(1);
    expect(go.metrics.vacatesByReason.missing).toBeGreaterThanOrEqual(6);
    expect(ours.metrics.creates).toBeLessThan(go.metrics.creates);
  });

  it('replaces rebooting bots without interrupting a task, and trims the spare when they come back', async () => {
    const ours = await simulate({ scenario: 'reboots', days: 12 * HOURS, seed: 2, policy: 'default' });
    const go = await simulate({ scenario: 'reboots', days: 12 * HOURS, seed: 2, policy: 'go-makemac' });
    expect(ours.metrics.tasksInterrupted).toBe(0);
    expect(ours.metrics.vacatesByReason.excess ?? 0).toBeLessThanOrEqual(ours.metrics.creates);
    expect(ours.metrics.availability).toBeGreaterThanOrEqual(go.metrics.availability);
  });

  it('replays the Go makemac emulation exactly too', async () => {
    const first = await simulate({ scenario: 'rollout', days: 3 * HOURS, seed: 3, policy: 'go-makemac' });
    const again = await simulate({ scenario: 'rollout', days: 3 * HOURS, seed: 3, policy: 'go-makemac' });
    expect(again).toEqual(first);
    // Every lease past its first hour, every pass: about 18 passes × 25 leases.
    expect(first.metrics.renewals).toBeGreaterThan(16 * 25);
  });
});
