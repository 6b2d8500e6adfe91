// The planner: one pure function of (config, observation, now). No I/O, no clock, no logger.
// Every managed lease gets a verdict; actions, refusals and deferrals follow from the verdicts
// and the limits. Unmanaged leases are filtered out first and never seen again.
import type { Config, Group, Policy, SwarmingServer } from '../config/schema';
import { formatDuration } from '../duration';
import { compareStrings, isWithinFirstHour, RENEW_DURATION_SECONDS } from '../fleet';
import type { HostObservation, Observation, ObservedLease } from '../observe';
import { attributeLease, type Attribution } from './attribution';
import { applyBrake, applyVacateBudget, minHealthyOf, surgeOf, vacateBudget } from './limits';
import {
  PHASE_ORDER,
  phaseOf,
  type Action,
  type Brake,
  type CreateAction,
  type Deferred,
  type GroupStatus,
  type HealthReason,
  type Plan,
  type Refused,
  type RenewAction,
  type VacateAction,
  type VacateReason,
  type Verdict,
} from './types';
import { classifyLease, isDeadLongEnough, isHealthyCapacity, lastSeen } from './verdict';

/** One managed lease with everything the sections below ask about it. */
interface Subject {
  lease: ObservedLease;
  host: string;
  attribution: Attribution;
  verdict: Verdict;
  /** Its host's bot list cannot be trusted: nothing of it is vacated (see section 3b). */
  blind: boolean;
  /** Why its host is blind; null when it is not. */
  blindReason: string | null;
  /** Adds to its group's healthy capacity (see isHealthyCapacity). */
  capacity: boolean;
  /** A live bot running a task: never vacated, only waited for. */
  busy: boolean;
}

/** Budget priority of a vacate: lower goes first. */
const PRIORITY = { health: 0, outdatedUnhealthy: 1, outdatedHealthy: 2, excess: 3, orphaned: 4 } as const;
type Candidate = { action: VacateAction; priority: number };

/**
 * Sections are decided in this order, which is the execution order (see phaseOf) except that
 * replacement vacates are decided before creates: the surge counts the leases that stay.
 *   1. verdicts · 2. health vacates and the brake · 3. replacement vacates (rollout, excess,
 *   orphans) · 3b. blind hosts' would-be replacement vacates, deferred · 4. the vacate budget ·
 *   5. creates · 6. renewals.
 */
export function plan(config: Config, observation: Observation, now: number): Plan {
  const policy = config.policy;
  const subjects = managedSubjects(config, observation, now);
  const refused: Refused[] = [];
  const deferred: Deferred[] = [];
  const brakes: Brake[] = [];
  const candidates: Candidate[] = [];
  // Leases already given a decision (vacate, refusal or deferral): a lease gets at most one.
  const decided = new Set<string>();
  const defer = (action: Action, reason: Deferred['reason'], detail: string) => {
    deferred.push({ action, reason, detail });
    if (action.kind !== 'create') decided.add(action.leaseId);
  };
  const proposed = new Set<string>();
  const propose = (action: VacateAction, priority: number) => {
    candidates.push({ action, priority });
    proposed.add(action.leaseId);
    decided.add(action.leaseId);
  };

  // 2. Health vacates, braked per swarming host.
  for (const host of sortedUnique(subjects.map((s) => s.host))) {
    const onHost = subjects.filter((s) => s.host === host);
    const wanted: VacateAction[] = [];
    for (const subject of onHost) {
      const health = healthDecision(subject, policy, now);
      if (health === null) continue;
      if ('deferral' in health) defer(vacate(subject, health.reason, health.detail), health.deferral, health.detail);
      else wanted.push(vacate(subject, health.reason, health.detail));
    }
    const braked = applyBrake(host, wanted, onHost.length, policy);
    for (const action of braked.allowed) propose(action, PRIORITY.health);
    for (const entry of braked.refused) decided.add(entry.action.leaseId);
    refused.push(...braked.refused);
    if (braked.brake) brakes.push(braked.brake);
  }

  // 3. Replacement vacates: outdated, then excess, sharing each group's healthy capacity.
  for (const { group } of configuredGroups(config)) {
    const members = subjects.filter((s) => s.attribution.group === group && !s.blind);
    if (members.length === 0) continue;
    const minHealthy = minHealthyOf(policy, group.count);
    let capacity = members.filter((s) => s.capacity && !proposed.has(s.lease.leaseId)).length;
    const take = (subject: Subject, action: VacateAction, priority: number) => {
      // Unhealthy leases serve nothing: they go at once. Healthy ones only while capacity allows.
      if (subject.busy) defer(action, 'busy', busyDetail(subject));
      else if (subject.capacity && capacity - 1 < minHealthy) defer(action, 'capacity', capacityDetail(group, capacity, minHealthy));
      else {
        propose(action, priority);
        if (subject.capacity) capacity -= 1;
      }
    };
    // Rollout: outdated leases, in vacate order (so idle before busy, which wait).
    const outdated = members.filter((s) => !s.verdict.current && !decided.has(s.lease.leaseId)).sort(byVacateOrder);
    for (const subject of outdated) {
      const priority = isUnhealthy(subject) ? PRIORITY.outdatedUnhealthy : PRIORITY.outdatedHealthy;
      take(subject, vacate(subject, 'outdated', outdatedDetail(subject, group)), priority);
    }
    // Excess: current leases beyond count. Brake-refused and deferred leases count but stay.
    const currentKept = members.filter((s) => s.verdict.current && !proposed.has(s.lease.leaseId));
    const excess = currentKept.length - group.count;
    if (excess <= 0) continue;
    const detail = excessDetail(group, currentKept.length);
    const choice = currentKept.filter((s) => !decided.has(s.lease.leaseId)).sort(byVacateOrder).slice(0, excess);
    for (const subject of choice) take(subject, vacate(subject, 'excess', detail), PRIORITY.excess);
  }

  // Orphans: counted nowhere, so vacated in vacate order; busy ones finish their task first.
  // Orphans of a host removed from config have no bot list (verdict `unknown`): they are
  // vacated without knowing whether their bot is busy, subject to the budget like any vacate.
  for (const subject of subjects.filter((s) => s.attribution.group === null && !s.blind).sort(byVacateOrder)) {
    const action = vacate(subject, 'orphaned', orphanDetail(subject));
    if (subject.busy) defer(action, 'busy', busyDetail(subject));
    else propose(action, PRIORITY.orphaned);
  }

  // 3b. Blind hosts: nothing is vacated, but every lease a sighted pass would vacate for rollout,
  // excess or orphaning is deferred, so none is dropped silently. Health is unknown there, so no
  // health vacate is wanted; the leases stay kept (renewed, counted against creates).
  const deferBlind = (subject: Subject, reason: VacateReason, detail: string) =>
    defer(vacate(subject, reason, detail), 'blind-host', `host ${subject.host} is blind this pass: ${subject.blindReason}`);
  for (const { group } of configuredGroups(config)) {
    const members = subjects.filter((s) => s.attribution.group === group && s.blind);
    for (const subject of members.filter((s) => !s.verdict.current)) deferBlind(subject, 'outdated', outdatedDetail(subject, group));
    const current = members.filter((s) => s.verdict.current);
    // With health unknown, the youngest would go first (as booting ones do on a sighted host).
    const excess = [...current].sort(byAge).slice(0, Math.max(0, current.length - group.count));
    for (const subject of excess) deferBlind(subject, 'excess', excessDetail(group, current.length));
  }
  for (const subject of subjects.filter((s) => s.attribution.group === null && s.blind)) {
    deferBlind(subject, 'orphaned', orphanDetail(subject));
  }

  // 4. The vacate budget, in priority order (stable: each section's own order within a priority).
  const ordered = [...candidates].sort((a, b) => a.priority - b.priority).map((c) => c.action);
  const budgeted = applyVacateBudget(ordered, vacateBudget(policy, subjects.length));
  deferred.push(...budgeted.deferred);
  const vacated = new Set(budgeted.allowed.map((a) => a.leaseId));

  // 5. Creates, per group, up to count current leases and count + surge leases in all.
  const creates: CreateAction[] = [];
  for (const { server, group } of configuredGroups(config)) {
    const kept = subjects.filter((s) => s.attribution.group === group && !vacated.has(s.lease.leaseId));
    const currentKept = kept.filter((s) => s.verdict.current).length;
    const want = group.count - currentKept;
    if (want <= 0) continue;
    const surge = surgeOf(policy, group.count);
    const room = Math.max(0, group.count + surge - kept.length);
    const action: CreateAction = {
      kind: 'create',
      swarmingHost: server.host,
      group: group.hostname,
      image: group.image,
      reason: 'deficit',
      detail: `group ${group.hostname} has ${currentKept} of ${group.count} current leases`,
    };
    for (let i = 0; i < want; i++) {
      if (i >= room)
        defer(action, 'surge', `group ${group.hostname} has ${kept.length} leases, at most count ${group.count} + surge ${surge}`);
      else if (creates.length >= policy.maxCreatesPerPass)
        defer(action, 'create-budget', `over the create budget of ${policy.maxCreatesPerPass} per pass`);
      else creates.push({ ...action });
    }
  }

  // 6. Renewals: every kept lease near expiry — on blind hosts too, and deferred ones too.
  const renewals: RenewAction[] = [];
  for (const subject of subjects) {
    const { lease } = subject;
    if (vacated.has(lease.leaseId) || !isExpiring(lease, policy, now)) continue;
    // Renewing in the first hour would cut its expiry below 23h and break the age rule (fleet.ts).
    if (isWithinFirstHour(lease, now)) continue;
    renewals.push({
      kind: 'renew',
      swarmingHost: subject.host,
      group: subject.attribution.group?.hostname ?? null,
      image: lease.image,
      leaseId: lease.leaseId,
      reason: 'expiring',
      durationSeconds: RENEW_DURATION_SECONDS,
      detail: expiryDetail(lease, now),
    });
  }

  return {
    verdicts: subjects.map((s) => s.verdict),
    actions: [...budgeted.allowed, ...creates, ...renewals].sort(compareActions),
    refused: refused.sort((a, b) => compareActions(a.action, b.action)),
    deferred: deferred.sort((a, b) => compareActions(a.action, b.action) || compareStrings(a.reason, b.reason)),
    brakes,
    groups: groupStatuses(config, subjects),
  };
}

// 1. Verdicts. A configured host missing from the observation is treated as blind, never as healthy.
function managedSubjects(config: Config, observation: Observation, now: number): Subject[] {
  const observed = new Map(observation.hosts.map((h) => [h.host, h]));
  return observation.leases
    .filter((lease) => lease.managedHost !== null)
    .sort((a, b) => compareStrings(a.leaseId, b.leaseId))
    .map((lease) => {
      const host = lease.managedHost!;
      const attribution = attributeLease(config, lease);
      const hostObservation: HostObservation | null =
        observed.get(host) ??
        (attribution.server === null ? null : { host, blind: true, blindReason: 'not observed this pass', botCount: 0 });
      const verdict = classifyLease(lease, attribution, hostObservation, config.policy, now);
      const bot = lease.bot;
      return {
        lease,
        host,
        attribution,
        verdict,
        blind: hostObservation?.blind ?? false,
        blindReason: hostObservation?.blind ? (hostObservation.blindReason ?? 'no reason given') : null,
        capacity: isHealthyCapacity(verdict, lease),
        busy: verdict.state !== 'unknown' && bot !== null && !bot.isDead && bot.taskId !== null,
      };
    });
}

type HealthDecision =
  | { reason: HealthReason; detail: string }
  | { reason: Exclude<HealthReason, 'missing'>; detail: string; deferral: 'dead-recently' | 'busy' };

/** Health vacates apply to leases of a configured group; orphans are vacated as `orphaned` instead. */
function healthDecision(subject: Subject, policy: Policy, now: number): HealthDecision | null {
  const { verdict, lease } = subject;
  if (subject.blind || subject.attribution.group === null) return null;
  const bot = lease.bot;
  switch (verdict.state) {
    case 'missing':
      return { reason: 'missing', detail: verdict.note };
    case 'dead':
      if (isDeadLongEnough(bot!, policy, now)) return { reason: 'dead', detail: `bot dead, ${lastSeen(bot!, now)}` };
      return {
        reason: 'dead',
        deferral: 'dead-recently',
        detail: `bot dead, ${lastSeen(bot!, now)}, less than deadAfter ${formatDuration(policy.deadAfter)}`,
      };
    case 'quarantined':
      if (!policy.vacateQuarantined) return null;
      if (bot!.taskId !== null) return { reason: 'quarantined', deferral: 'busy', detail: busyDetail(subject) };
      return { reason: 'quarantined', detail: 'bot quarantined and idle' };
    default:
      return null;
  }
}

function vacate(subject: Subject, reason: VacateReason, detail: string): VacateAction {
  return {
    kind: 'vacate',
    swarmingHost: subject.host,
    group: subject.attribution.group?.hostname ?? null,
    image: subject.lease.image,
    leaseId: subject.lease.leaseId,
    reason,
    detail,
  };
}

/** Serves nothing: no bot yet or any more, or a bot that takes no tasks. */
function isUnhealthy(subject: Subject): boolean {
  const state = subject.verdict.state;
  return state === 'booting' || state === 'missing' || state === 'dead' || state === 'quarantined';
}

/**
 * Which lease of a set goes first: booting ones (youngest first), then those serving nothing
 * (missing, dead, quarantined, in maintenance, unknown), then idle, then busy (which wait).
 */
function vacateRank(subject: Subject): number {
  if (subject.busy) return 3;
  if (subject.verdict.state === 'booting') return 0;
  return subject.capacity ? 2 : 1;
}

function byVacateOrder(a: Subject, b: Subject): number {
  return vacateRank(a) - vacateRank(b) || byAge(a, b);
}

/** Youngest first (unknown age counts as oldest), then lease id. */
function byAge(a: Subject, b: Subject): number {
  const age = (s: Subject) => s.verdict.ageMs ?? Number.POSITIVE_INFINITY;
  return age(a) - age(b) || compareStrings(a.lease.leaseId, b.lease.leaseId);
}

function configuredGroups(config: Config): { server: SwarmingServer; group: Group }[] {
  return [...config.swarming]
    .sort((a, b) => compareStrings(a.host, b.host))
    .flatMap((server) =>
      [...server.groups].sort((a, b) => compareStrings(a.hostname, b.hostname)).map((group) => ({ server, group })),
    );
}

function isExpiring(lease: ObservedLease, policy: Policy, now: number): boolean {
  return lease.expiresAt === null || lease.expiresAt - now < policy.renewBefore;
}

type GroupMember = Pick<Subject, 'attribution' | 'verdict' | 'capacity'>;

/** Each configured group's counts, for the decision record (also the simulator's Go makemac emulation). */
export function groupStatuses(config: Config, subjects: readonly GroupMember[]): GroupStatus[] {
  return configuredGroups(config).map(({ server, group }) => {
    const members = subjects.filter((s) => s.attribution.group === group);
    const count = (predicate: (s: GroupMember) => boolean) => members.filter(predicate).length;
    return {
      swarmingHost: server.host,
      group: group.hostname,
      image: group.image,
      desired: group.count,
      leases: members.length,
      healthy: count((s) => s.capacity),
      busy: count((s) => s.verdict.state === 'healthy-busy'),
      booting: count((s) => s.verdict.state === 'booting'),
      unhealthy: count((s) => ['missing', 'dead', 'quarantined'].includes(s.verdict.state)),
      outdated: count((s) => !s.verdict.current),
      unknown: count((s) => s.verdict.state === 'unknown'),
    };
  });
}

/** Execution order: by phase, then lease id (creates: host, then group), plain string order. */
function compareActions(a: Action, b: Action): number {
  const key = (x: Action) => (x.kind === 'create' ? [x.swarmingHost, x.group] : [x.leaseId, '']);
  const [a1, a2] = key(a);
  const [b1, b2] = key(b);
  return (
    PHASE_ORDER.indexOf(phaseOf(a)) - PHASE_ORDER.indexOf(phaseOf(b)) || compareStrings(a1!, b1!) || compareStrings(a2!, b2!)
  );
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort(compareStrings);
}

const shortImage = (image: string) => (image === '' ? '(none)' : image.slice(0, 12));

function outdatedDetail(subject: Subject, group: Group): string {
  return `runs image ${shortImage(subject.lease.image)}, not group ${group.hostname}'s ${shortImage(group.image)}`;
}

function orphanDetail(subject: Subject): string {
  return subject.attribution.server === null
    ? `host ${subject.host} is not configured`
    : `no group of host ${subject.host} claims it (image ${shortImage(subject.lease.image)})`;
}

function excessDetail(group: Group, current: number): string {
  return `group ${group.hostname} has ${current} current leases, count ${group.count}`;
}

function busyDetail(subject: Subject): string {
  return `bot running task ${subject.lease.bot?.taskId ?? '?'}`;
}

function capacityDetail(group: Group, capacity: number, minHealthy: number): string {
  return `group ${group.hostname} has ${capacity} healthy leases and must keep ${minHealthy}`;
}

function expiryDetail(lease: ObservedLease, now: number): string {
  if (lease.expiresAt === null) return 'expiry unknown';
  const left = lease.expiresAt - now;
  return left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
}
