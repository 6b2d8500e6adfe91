// Go makemac's decisions (shared/macservice/wire-notes.md §7.2–§7.4), as a planner producing our Plan type,
// so the simulator can run the old behaviour and the new one against the same world. It has
// none of the new safety: no brake, no blind-host protection, no surge or capacity rule, no
// notion of a busy bot. It is an emulation for comparison, never used to manage a real fleet.
import type { Config, Group } from '../config/schema';
import { compareStrings, RENEW_DURATION_SECONDS } from '../fleet';
import type { Observation, ObservedLease } from '../observe';
import { attributeLease } from '../plan/attribution';
import { groupStatuses } from '../plan/group-status';
import type { Action, CreateAction, Plan, RenewAction, VacateAction, VacateReason } from '../plan/types';
import { classifyLease, isHealthyCapacity } from '../plan/verdict';

/** Go's age test: a lease whose expiry is more than 23h away was created in the last hour. */
const RENEW_WINDOW_MS = RENEW_DURATION_SECONDS * 1000;

export function makemacPlan(config: Config, observation: Observation, now: number): Plan {
  const managed = observation.leases.filter((lease) => lease.managedHost !== null).sort((a, b) => compareStrings(a.leaseId, b.leaseId));
  const members = managed.map((lease) => memberOf(config, observation, lease, now));
  const verdicts = members.map((m) => m.verdict);
  const empty: Plan = { verdicts, actions: [], refused: [], deferred: [], brakes: [], groups: groupStatuses(config, members) };

  // Go lists every host's bots before anything else and abandons the pass when one fails:
  // no renewals either. (An empty but successful list is believed.)
  if (observation.hosts.some((host) => host.blind && host.blindReason?.startsWith('bot list failed'))) return empty;

  const actions: Action[] = [];
  const gone = new Set<string>();
  const expiresWithin23h = (lease: ObservedLease) => lease.expiresAt === null || lease.expiresAt - now <= RENEW_WINDOW_MS;
  const vacate = (lease: ObservedLease, reason: VacateReason, detail: string) => {
    const group = attributeLease(config, lease).group;
    const action: VacateAction = {
      kind: 'vacate',
      swarmingHost: lease.managedHost!,
      group: group?.hostname ?? null,
      image: lease.image,
      leaseId: lease.leaseId,
      reason,
      detail,
    };
    actions.push(action);
    gone.add(lease.leaseId);
  };

  // 1. Missing bots: no bot on any host, and past the first hour by the 23h rule.
  for (const lease of managed) {
    if (lease.bot === null && expiresWithin23h(lease)) vacate(lease, 'missing', 'Go makemac: no bot on any host, lease over 1h old');
  }
  // 2. Dead bots, at once.
  for (const lease of managed) {
    if (!gone.has(lease.leaseId) && lease.bot?.isDead) vacate(lease, 'dead', 'Go makemac: bot is dead');
  }
  // 3. Renew every surviving lease past its first hour — each pass, even those vacated below.
  for (const lease of managed) {
    if (gone.has(lease.leaseId) || !expiresWithin23h(lease)) continue;
    const renew: RenewAction = {
      kind: 'renew',
      swarmingHost: lease.managedHost!,
      group: attributeLease(config, lease).group?.hostname ?? null,
      image: lease.image,
      leaseId: lease.leaseId,
      reason: 'expiring',
      durationSeconds: RENEW_DURATION_SECONDS,
      detail: 'Go makemac: expiry within 23h',
    };
    actions.push(renew);
  }
  // 4. Obsolete and surplus, walking leases by id; per (host, image), the last ones go.
  const have = new Map<string, number>();
  for (const lease of managed) {
    if (gone.has(lease.leaseId)) continue;
    const server = config.swarming.find((s) => s.host === lease.managedHost);
    if (!server) continue; // Go logs and skips a host it has no config for.
    const group = server.groups.find((g) => g.image === lease.image);
    if (!group) {
      vacate(lease, 'outdated', 'Go makemac: image not configured for its host');
      continue;
    }
    const key = `${server.host} ${group.image}`;
    const count = (have.get(key) ?? 0) + 1;
    have.set(key, count);
    if (count > group.count) {
      vacate(lease, 'excess', `Go makemac: more than ${group.count} leases of this image`);
      have.set(key, count - 1);
    }
  }
  // 5. Add: hosts by name, images by SHA, Count − have each.
  for (const server of [...config.swarming].sort((a, b) => compareStrings(a.host, b.host))) {
    for (const group of [...server.groups].sort((a, b) => compareStrings(a.image, b.image))) {
      const missing = group.count - (have.get(`${server.host} ${group.image}`) ?? 0);
      for (let i = 0; i < missing; i++) actions.push(create(server.host, group, missing));
    }
  }
  return { ...empty, actions };
}

function create(host: string, group: Group, missing: number): CreateAction {
  return {
    kind: 'create',
    swarmingHost: host,
    group: group.hostname,
    image: group.image,
    reason: 'deficit',
    detail: `Go makemac: ${missing} fewer leases of this image than ${group.count}`,
  };
}

/** A lease's verdict, classified as makemac does, with what groupStatuses counts. */
function memberOf(config: Config, observation: Observation, lease: ObservedLease, now: number) {
  const attribution = attributeLease(config, lease);
  const host = attribution.server === null ? null : (observation.hosts.find((h) => h.host === lease.managedHost) ?? null);
  const verdict = classifyLease(lease, attribution, host, config.policy, now);
  return { attribution, verdict, capacity: isHealthyCapacity(verdict, lease) };
}
