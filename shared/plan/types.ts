// The plan: what one pass decided, as data. Verdicts explain every managed lease; actions
// carry exactly one reason each; refused and deferred entries record what the limits held back.

/** What a managed lease's bot tells about it. */
export type VerdictState =
  /** No bot yet, younger than bootGrace. */
  | 'booting'
  /** No bot, older than bootGrace: the VM never came up (or its bot never connected). */
  | 'missing'
  /** The bot is marked dead by Swarming. */
  | 'dead'
  /** The bot reports itself unhealthy and takes no tasks. */
  | 'quarantined'
  | 'healthy-idle'
  /** The bot has a task. */
  | 'healthy-busy'
  /** Its host's bot list cannot be trusted this pass, so health is not judged. */
  | 'unknown';

/** Why a lease is vacated. Public: logs, metrics, alerts and the README use these words. */
export type VacateReason =
  /** No bot long after creation. */
  | 'missing'
  /** Bot dead for longer than deadAfter. */
  | 'dead'
  /** Bot quarantined and idle. */
  | 'quarantined'
  /** Runs an image other than its group's. */
  | 'outdated'
  /** Its group has more current leases than its count. */
  | 'excess'
  /** Belongs to no configured group (its group or host was removed from config). */
  | 'orphaned';

export type HealthReason = Extract<VacateReason, 'missing' | 'dead' | 'quarantined'>;

export type ActionReason =
  | VacateReason
  /** Expiry closer than renewBefore. */
  | 'expiring'
  /** Its group has fewer current leases than its count. */
  | 'deficit';

interface ActionBase {
  reason: ActionReason;
  swarmingHost: string;
  /** The group's hostname prefix; null for an orphaned lease. */
  group: string | null;
  image: string;
  /** One readable clause saying why, for the log line. */
  detail: string;
}

export interface VacateAction extends ActionBase {
  kind: 'vacate';
  leaseId: string;
  reason: VacateReason;
}

export interface RenewAction extends ActionBase {
  kind: 'renew';
  leaseId: string;
  reason: 'expiring';
  durationSeconds: number;
}

/** Creates one lease for a group; the executor builds the request (and resolves secrets) from config. */
export interface CreateAction extends ActionBase {
  kind: 'create';
  group: string;
  reason: 'deficit';
}

export type Action = VacateAction | RenewAction | CreateAction;

export type ActionPhase = 'health-vacate' | 'create' | 'renew' | 'replace-vacate';

/** Execution order: health vacates free broken capacity first; replacement vacates go last so
 * their leases keep serving until the creates and renewals are in. */
export const PHASE_ORDER: readonly ActionPhase[] = ['health-vacate', 'create', 'renew', 'replace-vacate'];

export interface Verdict {
  leaseId: string;
  swarmingHost: string;
  group: string | null;
  image: string;
  /** Its image is its group's current image. */
  current: boolean;
  state: VerdictState;
  /** Why the state: e.g. "no bot 2h10m after creation", "dead, last seen 45m ago". */
  note: string;
  ageMs: number | null;
  expiresInMs: number | null;
  botId: string | null;
}

/** An action the safety limits would not allow. */
export interface Refused {
  action: VacateAction;
  /** `brake`: too many health vacates on one host. (A blind host's leases get no health vacate at all.) */
  reason: 'brake';
  detail: string;
}

/** An action left for a later pass. */
export interface Deferred {
  action: Action;
  /**
   * `vacate-budget` / `create-budget`: over maxVacatesPerPass / maxCreatesPerPass;
   * `capacity`: vacating would drop healthy capacity below count − maxUnavailable;
   * `surge`: creating would exceed count + maxSurge;
   * `busy`: the bot is running a task;
   * `dead-recently`: the bot died less than deadAfter ago;
   * `blind-host`: its host's bot list cannot be trusted this pass, so nothing of it is vacated.
   */
  reason: 'vacate-budget' | 'create-budget' | 'capacity' | 'surge' | 'busy' | 'dead-recently' | 'blind-host';
  detail: string;
}

export interface Brake {
  swarmingHost: string;
  /** Health vacates the pass wanted on this host. */
  wanted: number;
  /** max(brakeMinimum, ceil(brakeFraction × managed leases of the host)). */
  limit: number;
  managedLeases: number;
}

/** Per-group counts before the pass acts, for the summary and the capacity alert. */
export interface GroupStatus {
  swarmingHost: string;
  group: string;
  image: string;
  desired: number;
  /** Leases of the group, any image, kept or not. */
  leases: number;
  healthy: number;
  busy: number;
  booting: number;
  unhealthy: number;
  outdated: number;
  /** Leases whose host is blind this pass: their health is not judged, nor counted above. */
  unknown: number;
}

export interface Plan {
  /** One per managed lease, sorted by lease id. */
  verdicts: Verdict[];
  /** In execution order (by phase, then plain string order). */
  actions: Action[];
  refused: Refused[];
  deferred: Deferred[];
  brakes: Brake[];
  groups: GroupStatus[];
}

const HEALTH_REASONS: ReadonlySet<VacateReason> = new Set<HealthReason>(['missing', 'dead', 'quarantined']);

export function phaseOf(action: Action): ActionPhase {
  if (action.kind === 'create') return 'create';
  if (action.kind === 'renew') return 'renew';
  return HEALTH_REASONS.has(action.reason) ? 'health-vacate' : 'replace-vacate';
}
