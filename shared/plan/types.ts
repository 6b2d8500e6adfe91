// The plan: what one pass decided, as data. Verdicts explain every managed lease; actions
// carry exactly one reason each; refused and deferred entries record what the limits held back.
// The words themselves (states, reasons) are defined in vocabulary.ts.
import {
  isHealthReason,
  type ActionReason,
  type CreateReason,
  type DeferralReason,
  type RefusalReason,
  type RenewReason,
  type VacateReason,
  type VerdictState,
} from './vocabulary';

export type { HealthReason, VacateReason, VerdictState } from './vocabulary';

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
  reason: RenewReason;
  durationSeconds: number;
}

/** Creates one lease for a group; the executor builds the request (and resolves secrets) from config. */
export interface CreateAction extends ActionBase {
  kind: 'create';
  group: string;
  reason: CreateReason;
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
  reason: RefusalReason;
  detail: string;
}

/** An action left for a later pass. */
export interface Deferred {
  action: Action;
  reason: DeferralReason;
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
  /** Its image has not booted on any lease, so its rollout is halted (see rollout-halt.ts). */
  rolloutHalted: boolean;
  /** The image its deficit is created on while halted; null when not halted or no image is known good. */
  backfillImage: string | null;
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

export function phaseOf(action: Action): ActionPhase {
  if (action.kind === 'create') return 'create';
  if (action.kind === 'renew') return 'renew';
  return isHealthReason(action.reason) ? 'health-vacate' : 'replace-vacate';
}
