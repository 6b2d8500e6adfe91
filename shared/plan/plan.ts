// The planner: one pure function of (config, observation, now). No I/O, no clock, no logger.
// Every managed lease gets a verdict; actions, refusals and deferrals follow from the verdicts
// and the limits. Unmanaged leases are filtered out first and never seen again.
import type { Config, Group, Policy } from '../config/schema';
import { formatDuration } from '../duration';
import { compareStrings, isWithinFirstHour, RENEW_DURATION_SECONDS, taggedHost } from '../fleet';
import type { Observation, ObservedLease } from '../observe';
import { groupStatuses } from './group-status';
import { applyBrake, applyVacateBudget, minHealthyOf, surgeOf, vacateBudget } from './limits';
import { rolloutHalts, type RolloutHalt } from './rollout-halt';
import { byAge, byVacateOrder, configuredGroups, managedSubjects, servesNothing, shortImage, type Subject } from './subject';
import {
  PHASE_ORDER,
  phaseOf,
  type Action,
  type Brake,
  type CreateAction,
  type Deferred,
  type HealthReason,
  type Plan,
  type Refused,
  type RenewAction,
  type VacateAction,
  type VacateReason,
} from './types';
import { isDeadLongEnough, lastSeen } from './verdict';
import { isHealthReason, VERDICTS } from './vocabulary';

/** Budget priority of a vacate: lower goes first. */
const PRIORITY = { health: 0, outdatedUnhealthy: 1, outdatedHealthy: 2, excess: 3, retired: 4, orphaned: 5 } as const;

/**
 * What the sections have decided so far. A lease gets at most one decision: a proposed vacate,
 * a refusal or a deferral.
 */
class Ledger {
  readonly candidates: { action: VacateAction; priority: number }[] = [];
  readonly refused: Refused[] = [];
  readonly deferred: Deferred[] = [];
  readonly brakes: Brake[] = [];
  private readonly decided = new Set<string>();
  private readonly proposed = new Set<string>();
  /** Unhealthy leases whose health vacate was held back (deferred or refused): no longer capacity, not yet gone. */
  private readonly pendingHealth = new Set<string>();

  propose(action: VacateAction, priority: number): void {
    this.candidates.push({ action, priority });
    this.proposed.add(action.leaseId);
    this.decided.add(action.leaseId);
  }

  defer(action: Action, reason: Deferred['reason'], detail: string): void {
    this.deferred.push({ action, reason, detail });
    if (action.kind === 'create') return;
    this.decided.add(action.leaseId);
    if (action.kind === 'vacate' && isHealthReason(action.reason)) this.pendingHealth.add(action.leaseId);
  }

  refuse(entries: Refused[]): void {
    this.refused.push(...entries);
    for (const entry of entries) {
      this.decided.add(entry.action.leaseId);
      this.pendingHealth.add(entry.action.leaseId);
    }
  }

  isDecided(subject: Subject): boolean {
    return this.decided.has(subject.lease.leaseId);
  }

  isProposed(subject: Subject): boolean {
    return this.proposed.has(subject.lease.leaseId);
  }

  /** Will be vacated for its health, but not this pass: replaced now rather than counted (replace before vacate). */
  isPendingHealth(subject: Subject): boolean {
    return this.pendingHealth.has(subject.lease.leaseId);
  }
}

/**
 * Leases a halted group keeps on its known good image beyond count: while a rollout is halted
 * no lease of the group's image can replace a lost one, so one spare (within the surge) keeps
 * a single fault from costing capacity while the group waits for a fixed image.
 */
const HALT_SPARE = 1;

function haltSpareOf(policy: Policy, group: Group): number {
  return Math.min(HALT_SPARE, surgeOf(policy, group.count));
}

/**
 * Sections are decided in this order, which is the execution order (see phaseOf) except that
 * replacement vacates are decided before creates: the surge counts the leases that stay.
 */
export function plan(config: Config, observation: Observation, now: number): Plan {
  const policy = config.policy;
  const subjects = managedSubjects(config, observation, now);
  const ledger = new Ledger();
  const halts = rolloutHalts(config, subjects);
  const evidence = new Map([...halts.values()].flatMap((halt) => [...halt.evidence].map((id) => [id, halt] as const)));
  planHealthVacates(subjects, policy, now, ledger, evidence);
  planRolloutAndExcess(config, subjects, ledger, halts);
  planOrphans(subjects, ledger);
  planRetired(subjects, ledger);
  deferBlindHosts(config, subjects, ledger);
  const budgeted = applyVacateBudgetInPriority(ledger, vacateBudget(policy, subjects.length));
  const vacated = new Set(budgeted.map((a) => a.leaseId));
  const creates = planDeficitCreates(config, subjects, vacated, ledger, halts, malformedByHost(observation));
  const renewals = planRenewals(
    subjects.filter((s) => !evidence.has(s.lease.leaseId)),
    vacated,
    policy,
    now,
  );
  const changes = holdForSuspectLeaseList(observation.leaseListSuspect, [...budgeted, ...creates], ledger);
  return {
    verdicts: subjects.map((s) => s.verdict),
    actions: [...changes, ...renewals].sort(compareActions),
    refused: ledger.refused.sort((a, b) => compareActions(a.action, b.action)),
    deferred: ledger.deferred.sort((a, b) => compareActions(a.action, b.action) || compareStrings(a.reason, b.reason)),
    brakes: ledger.brakes,
    groups: groupStatuses(config, subjects, halts),
  };
}

/**
 * `missing`, `dead`, `quarantined`: what the verdicts call for, braked per swarming host; the
 * `evidence` of a halted rollout stays (its vacate deferred, see rollout-halt.ts).
 */
function planHealthVacates(
  subjects: Subject[],
  policy: Policy,
  now: number,
  ledger: Ledger,
  evidence: ReadonlyMap<string, RolloutHalt>,
): void {
  for (const host of sortedUnique(subjects.map((s) => s.host))) {
    const onHost = subjects.filter((s) => s.host === host);
    const wanted: VacateAction[] = [];
    for (const subject of onHost) {
      const health = healthDecision(subject, policy, now);
      if (health === null) continue;
      const halt = evidence.get(subject.lease.leaseId);
      if (halt) {
        ledger.defer(vacate(subject, health.reason, health.detail), 'evidence', halt.detail);
        continue;
      }
      if ('deferral' in health) ledger.defer(vacate(subject, health.reason, health.detail), health.deferral, health.detail);
      else wanted.push(vacate(subject, health.reason, health.detail));
    }
    const braked = applyBrake(host, wanted, onHost.length, policy);
    for (const action of braked.allowed) ledger.propose(action, PRIORITY.health);
    ledger.refuse(braked.refused);
    if (braked.brake) ledger.brakes.push(braked.brake);
  }
}

type HealthDecision =
  | { reason: HealthReason; detail: string }
  | { reason: Exclude<HealthReason, 'missing'>; detail: string; deferral: 'dead-recently' | 'busy' };

/** Health vacates apply to leases of a configured group; orphans are vacated as `orphaned` instead. */
function healthDecision(subject: Subject, policy: Policy, now: number): HealthDecision | null {
  const { verdict, lease } = subject;
  const reason = VERDICTS[verdict.state].healthReason;
  if (reason === null || subject.blind || subject.attribution.group === null) return null;
  const bot = lease.bot!;
  switch (reason) {
    case 'missing':
      return { reason, detail: verdict.note };
    case 'dead':
      // Judged dead by its silence alone (see verdict.ts): replaced, but vacated only once
      // Swarming agrees, since the bot may still be running a task.
      if (!bot.isDead) return { reason, deferral: 'dead-recently', detail: `${verdict.note}; vacated once Swarming marks it dead` };
      if (isDeadLongEnough(bot, policy, now)) return { reason, detail: `bot dead, ${lastSeen(bot, now)}` };
      return {
        reason,
        deferral: 'dead-recently',
        detail: `bot dead, ${lastSeen(bot, now)}, less than deadAfter ${formatDuration(policy.deadAfter)}`,
      };
    case 'quarantined':
      if (!policy.vacateQuarantined) return null;
      if (bot.taskId !== null) return { reason, deferral: 'busy', detail: busyDetail(subject) };
      return { reason, detail: 'bot quarantined and idle' };
    default:
      return unreachable(reason);
  }
}

/**
 * `outdated` and `excess`: replacement vacates, sharing each group's healthy capacity so that it
 * never drops below count − maxUnavailable. Idle before busy; busy ones wait. While a group's
 * rollout is halted (`rollout-halted`), its outdated leases stay and its excess is counted on
 * the image it is backfilled on.
 */
function planRolloutAndExcess(config: Config, subjects: Subject[], ledger: Ledger, halts: ReadonlyMap<Group, RolloutHalt>): void {
  const policy = config.policy;
  for (const { group } of configuredGroups(config)) {
    const members = subjects.filter((s) => s.attribution.group === group && !s.blind);
    if (members.length === 0) continue;
    const halt = halts.get(group);
    const minHealthy = minHealthyOf(policy, group.count);
    let capacity = members.filter((s) => s.capacity && !ledger.isProposed(s)).length;
    const take = (subject: Subject, action: VacateAction, priority: number) => {
      // Unhealthy leases serve nothing: they go at once. Healthy ones only while capacity allows.
      if (subject.busy) ledger.defer(action, 'busy', busyDetail(subject));
      else if (subject.capacity && capacity - 1 < minHealthy) ledger.defer(action, 'capacity', capacityDetail(group, capacity, minHealthy));
      else {
        ledger.propose(action, priority);
        if (subject.capacity) capacity -= 1;
      }
    };
    // Leases already being replaced (see planDeficitCreates) are not counted: the replacement
    // would be trimmed as excess.
    const trimExcess = (image: string, target: number) => {
      const currentKept = members.filter((s) => s.lease.image === image && !ledger.isProposed(s) && !ledger.isPendingHealth(s));
      const excess = currentKept.length - target;
      if (excess <= 0) return;
      const detail = excessDetail(group, currentKept.length, target);
      const choice = currentKept.filter((s) => !ledger.isDecided(s)).sort(byVacateOrder).slice(0, excess);
      for (const subject of choice) take(subject, vacate(subject, 'excess', detail), PRIORITY.excess);
    };
    const outdated = () => members.filter((s) => !s.verdict.current && !ledger.isDecided(s)).sort(byVacateOrder);
    if (halt) {
      // The known good image's leases beyond count and the spare are trimmed first; the other
      // outdated leases wait for the halt to end.
      if (halt.knownGoodImage !== null) trimExcess(halt.knownGoodImage, group.count + haltSpareOf(policy, group));
      for (const subject of outdated()) ledger.defer(vacate(subject, 'outdated', outdatedDetail(subject, group)), 'rollout-halted', halt.detail);
      continue;
    }
    for (const subject of outdated()) {
      const action = vacate(subject, 'outdated', outdatedDetail(subject, group));
      take(subject, action, servesNothing(subject) ? PRIORITY.outdatedUnhealthy : PRIORITY.outdatedHealthy);
    }
    trimExcess(group.image, group.count);
  }
}

/** `orphaned`: counted nowhere, so vacated in vacate order; busy ones finish their task first. */
function planOrphans(subjects: Subject[], ledger: Ledger): void {
  for (const subject of subjects.filter((s) => isOrphan(s) && !s.blind).sort(byVacateOrder)) {
    const action = vacate(subject, 'orphaned', orphanDetail(subject));
    if (subject.busy) ledger.defer(action, 'busy', busyDetail(subject));
    else ledger.propose(action, PRIORITY.orphaned);
  }
}

/**
 * `retired`: the operator asked for the host's leases to go, idle first; busy ones finish their
 * task first. Without a bot list of the host (no pool given) a lease whose bot no configured host
 * lists has verdict `unknown` and goes without knowing whether it runs a task (see README).
 */
function planRetired(subjects: Subject[], ledger: Ledger): void {
  for (const subject of subjects.filter((s) => isRetired(s) && !s.blind).sort(byVacateOrder)) {
    const action = vacate(subject, 'retired', `host ${subject.host} is retired`);
    if (subject.busy) ledger.defer(action, 'busy', busyDetail(subject));
    else ledger.propose(action, PRIORITY.retired);
  }
}

/** A lease of a configured host that no group of it claims. */
function isOrphan(subject: Subject): boolean {
  return subject.attribution.server !== null && subject.attribution.group === null;
}

/** A lease of a host listed in retiredHosts (owned, but not configured: see ownedHost). */
function isRetired(subject: Subject): boolean {
  return subject.attribution.server === null;
}

/**
 * `blind-host`: nothing of a blind host is vacated, but every lease a sighted pass would vacate
 * for rollout, excess or orphaning is deferred, so none is dropped silently. Health is unknown
 * there, so no health vacate is wanted; the leases stay kept (renewed, counted against creates).
 */
function deferBlindHosts(config: Config, subjects: Subject[], ledger: Ledger): void {
  const deferBlind = (subject: Subject, reason: VacateReason, detail: string) =>
    ledger.defer(vacate(subject, reason, detail), 'blind-host', `host ${subject.host} is blind this pass: ${subject.blindReason}`);
  for (const { group } of configuredGroups(config)) {
    const members = subjects.filter((s) => s.attribution.group === group && s.blind);
    for (const subject of members.filter((s) => !s.verdict.current)) deferBlind(subject, 'outdated', outdatedDetail(subject, group));
    const current = members.filter((s) => s.verdict.current);
    // With health unknown, the youngest would go first (as booting ones do on a sighted host).
    const excess = [...current].sort(byAge).slice(0, Math.max(0, current.length - group.count));
    for (const subject of excess) deferBlind(subject, 'excess', excessDetail(group, current.length, group.count));
  }
  for (const subject of subjects.filter((s) => s.blind)) {
    if (isOrphan(subject)) deferBlind(subject, 'orphaned', orphanDetail(subject));
    if (isRetired(subject)) deferBlind(subject, 'retired', `host ${subject.host} is retired`);
  }
}

/** `vacate-budget`: proposed vacates in priority order (stable within a priority) until the budget is used. */
function applyVacateBudgetInPriority(ledger: Ledger, budget: number): VacateAction[] {
  const ordered = [...ledger.candidates].sort((a, b) => a.priority - b.priority).map((c) => c.action);
  const budgeted = applyVacateBudget(ordered, budget);
  for (const entry of budgeted.deferred) ledger.defer(entry.action, entry.reason, entry.detail);
  return budgeted.allowed;
}

/**
 * `deficit`: per group, up to count current leases and count + surge leases in all (`surge`,
 * `create-budget`). Leases held back from a health vacate (dead within deadAfter, quarantined
 * and busy, braked, over budget) are replaced now: they count toward count + surge, not count.
 * `backfill`: while the group's rollout is halted, the deficit is created on its last known
 * good image; the evidence counts toward neither.
 */
function planDeficitCreates(
  config: Config,
  subjects: Subject[],
  vacated: ReadonlySet<string>,
  ledger: Ledger,
  halts: ReadonlyMap<Group, RolloutHalt>,
  malformed: ReadonlyMap<string, number>,
): CreateAction[] {
  const policy = config.policy;
  const creates: CreateAction[] = [];
  for (const { server, group } of configuredGroups(config)) {
    const halt = halts.get(group);
    const evidence = halt?.evidence;
    const kept = subjects.filter(
      (s) => s.attribution.group === group && !vacated.has(s.lease.leaseId) && !evidence?.has(s.lease.leaseId),
    );
    const serving = (image: string) => kept.filter((s) => s.lease.image === image && !ledger.isPendingHealth(s)).length;
    const surge = surgeOf(policy, group.count);
    // A malformed lease of the host may be of this group: counted against the surge, so that a
    // fleet whose every lease became unreadable is not recreated pass after pass.
    const unreadable = malformed.get(server.host) ?? 0;
    const room = Math.max(0, group.count + surge - kept.length - unreadable);
    const create = (image: string, reason: CreateAction['reason'], detail: string): CreateAction => ({
      kind: 'create',
      swarmingHost: server.host,
      group: group.hostname,
      image,
      reason,
      detail,
    });
    const currentKept = serving(group.image);
    const deficit = create(group.image, 'deficit', `group ${group.hostname} has ${currentKept} of ${group.count} current leases`);
    let action = deficit;
    let want = group.count - currentKept;
    if (halt) {
      for (let i = 0; i < want; i++) ledger.defer(deficit, 'rollout-halted', halt.detail);
      if (halt.knownGoodImage === null) continue;
      const spare = haltSpareOf(policy, group);
      want = group.count + spare - serving(halt.knownGoodImage);
      action = create(halt.knownGoodImage, 'backfill', `${halt.detail}, to count ${group.count} + ${spare} spare`);
    }
    for (let i = 0; i < want; i++) {
      if (i >= room)
        ledger.defer(
          action,
          'surge',
          `group ${group.hostname} has ${kept.length} leases${unreadable > 0 ? ` (and its host ${unreadable} malformed)` : ''}, at most count ${group.count} + surge ${surge}`,
        );
      else if (creates.length >= policy.maxCreatesPerPass)
        ledger.defer(action, 'create-budget', `over the create budget of ${policy.maxCreatesPerPass} per pass`);
      else creates.push({ ...action });
    }
  }
  return creates;
}

/**
 * `lease-list`: a lease list that looks cut short (see suspectLeaseList in observe.ts) is no
 * ground to create or vacate: the missing leases would be made twice, their bots' leases judged
 * on nothing. The leases it did list are real, and renewing them destroys nothing, so renewals
 * go on: an outage of MacService's listing must not let the fleet expire.
 */
function holdForSuspectLeaseList(suspicion: string | null, changes: Action[], ledger: Ledger): Action[] {
  if (suspicion === null) return changes;
  const detail = `MacService's lease list looks incomplete: ${suspicion}`;
  for (const action of changes) ledger.defer(action, 'lease-list', detail);
  return [];
}

/** `expiring`: every kept lease near expiry — on blind hosts too, and deferred ones too. */
function planRenewals(subjects: Subject[], vacated: ReadonlySet<string>, policy: Policy, now: number): RenewAction[] {
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
  return renewals;
}

/** Managed leases `find` listed but that did not validate, by the host their tag names. */
function malformedByHost(observation: Observation): Map<string, number> {
  const counts = new Map<string, number>();
  for (const lease of observation.malformedLeases) {
    const host = taggedHost(lease.projectName);
    if (host !== null) counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return counts;
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

/** Due for renewal: its expiry is closer than renewBefore, or unknown. */
export function isExpiring(lease: Pick<ObservedLease, 'expiresAt'>, policy: Policy, now: number): boolean {
  return lease.expiresAt === null || lease.expiresAt - now < policy.renewBefore;
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

function unreachable(value: never): never {
  throw new Error(`unhandled case ${String(value)}`);
}


function outdatedDetail(subject: Subject, group: Group): string {
  return `runs image ${shortImage(subject.lease.image)}, not group ${group.hostname}'s ${shortImage(group.image)}`;
}

function orphanDetail(subject: Subject): string {
  return `no group of host ${subject.host} claims it (image ${shortImage(subject.lease.image)})`;
}

function excessDetail(group: Group, current: number, target: number): string {
  const spare = target > group.count ? ` + ${target - group.count} spare while its rollout is halted` : '';
  return `group ${group.hostname} has ${current} current leases, count ${group.count}${spare}`;
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
