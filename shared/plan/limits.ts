// The safety limits, as planner outputs: the brake refuses, the budgets and the rollout
// sizes defer. Nothing a limit holds back is dropped silently.
import { sizeOf, type Policy } from '../config/schema';
import type { Brake, Deferred, Refused, VacateAction } from './types';

/** Health vacates one swarming host may have in one pass before the brake engages. */
export function brakeLimit(policy: Policy, managedLeases: number): number {
  return Math.max(policy.brakeMinimum, Math.ceil(policy.brakeFraction * managedLeases));
}

/**
 * The brake short-circuits: when one host wants more health vacates than its limit, it is more
 * likely that Swarming is lying than that the fleet died, so none of them happen.
 */
export function applyBrake(
  host: string,
  wanted: VacateAction[],
  managedLeases: number,
  policy: Policy,
): { allowed: VacateAction[]; refused: Refused[]; brake: Brake | null } {
  const limit = brakeLimit(policy, managedLeases);
  if (wanted.length <= limit) return { allowed: wanted, refused: [], brake: null };
  const detail = `host ${host} wants ${wanted.length} health vacates, over the brake limit of ${limit} for ${managedLeases} managed leases`;
  return {
    allowed: [],
    refused: wanted.map((action) => ({ action, reason: 'brake', detail })),
    brake: { swarmingHost: host, wanted: wanted.length, limit, managedLeases },
  };
}

/**
 * Vacates in one pass: maxVacatesPerPass of all managed leases, but never fewer than
 * brakeMinimum (or 1): a small fleet whose every VM died must heal in one pass, as the
 * brake allows. Never more than vacateCeiling, whatever the fleet's size.
 */
export function vacateBudget(policy: Policy, managedLeases: number): number {
  return Math.min(policy.vacateCeiling, Math.max(1, policy.brakeMinimum, sizeOf(policy.maxVacatesPerPass, managedLeases)));
}

/** Takes vacates in the given (priority) order until the budget is used; the rest wait. */
export function applyVacateBudget(
  candidates: VacateAction[],
  budget: number,
): { allowed: VacateAction[]; deferred: Deferred[] } {
  const detail = `over the vacate budget of ${budget} per pass`;
  return {
    allowed: candidates.slice(0, budget),
    deferred: candidates.slice(budget).map((action) => ({ action, reason: 'vacate-budget', detail })),
  };
}

/** Leases a group may have above its count while a rollout replaces outdated ones (0 for count 0). */
export function surgeOf(policy: Policy, count: number): number {
  return count > 0 ? Math.max(1, sizeOf(policy.maxSurge, count)) : 0;
}

/** Healthy capacity a group must keep while its outdated or excess leases are vacated. */
export function minHealthyOf(policy: Policy, count: number): number {
  return Math.max(0, count - sizeOf(policy.maxUnavailable, count));
}
