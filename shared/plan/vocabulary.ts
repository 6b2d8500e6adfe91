// The plan's public words, defined once: verdict states and their traits, action reasons,
// deferral and refusal reasons, each with the one line that explains it. Types are derived
// from these tables; the planner, group statuses, logs and the simulator read the traits, and
// tests check the README and terraform/ against the lists. Add a word here first.

/** What the planner does with a lease of each verdict, and where group.status counts it. */
interface VerdictTraits {
  meaning: string;
  /**
   * The group.status column it counts in. `healthy` leases serve tasks (unless in maintenance,
   * see isHealthyCapacity); `booting` and `unhealthy` ones serve nothing yet or any more;
   * `unknown` ones are on a blind host and not judged.
   */
  bucket: 'healthy' | 'booting' | 'unhealthy' | 'unknown';
  /** The health vacate it calls for, or null when its health asks for none. */
  healthReason: 'missing' | 'dead' | 'quarantined' | null;
}

export const VERDICTS = {
  booting: { meaning: 'no bot yet, younger than `bootGrace`', bucket: 'booting', healthReason: null },
  missing: { meaning: 'no bot, older than `bootGrace`: the VM never came up', bucket: 'unhealthy', healthReason: 'missing' },
  dead: { meaning: 'Swarming marks the bot dead, or it has not been seen for `silentAfter`', bucket: 'unhealthy', healthReason: 'dead' },
  quarantined: { meaning: 'the bot reports itself unhealthy and takes no tasks', bucket: 'unhealthy', healthReason: 'quarantined' },
  'healthy-idle': { meaning: 'a live bot without a task', bucket: 'healthy', healthReason: null },
  'healthy-busy': { meaning: 'a live bot with a task', bucket: 'healthy', healthReason: null },
  unknown: { meaning: 'its host is blind this pass, or retired without a pool, so health is not judged', bucket: 'unknown', healthReason: null },
} as const satisfies Record<string, VerdictTraits>;

export type VerdictState = keyof typeof VERDICTS;
export const VERDICT_STATES = Object.keys(VERDICTS) as VerdictState[];

/** Why a lease is vacated. Public: logs, metrics, alerts and the README use these words. */
export const VACATE_REASONS = {
  missing: 'no bot `bootGrace` after creation (never on a blind host)',
  dead: 'bot dead for longer than `deadAfter` (a bot dead for less is deferred as `dead-recently`)',
  quarantined: 'bot quarantined and idle, when `vacateQuarantined` (a busy one finishes its task first)',
  outdated:
    "runs another image than its group's: unhealthy ones at once, healthy ones only while the group keeps `count − maxUnavailable` healthy leases; idle before busy, busy never",
  excess: 'the group has more current leases than `count`: booting first (youngest first), then unhealthy, then idle; busy never',
  orphaned: 'belongs to no group of its configured host (its group was removed from the config)',
  retired: 'its host is listed in `retiredHosts`: idle first, busy never (renewed until its task ends)',
} as const;

export type VacateReason = keyof typeof VACATE_REASONS;
/** The vacates a verdict calls for (missing, dead, quarantined): the brake counts these. */
export type HealthReason = NonNullable<(typeof VERDICTS)[VerdictState]['healthReason']>;

export const RENEW_REASONS = {
  expiring: 'a kept lease whose expiry is closer than `renewBefore` (renewed for 23h; never a lease in its first hour)',
} as const;
export type RenewReason = keyof typeof RENEW_REASONS;

export const CREATE_REASONS = {
  deficit: 'the group has fewer current leases than `count`, not counting leases about to be vacated (limited by `maxSurge` and `maxCreatesPerPass`)',
  backfill:
    "the group's rollout is halted: its deficit, and one spare, are created on its last known good image, the one most of its healthy leases run",
} as const;
export type CreateReason = keyof typeof CREATE_REASONS;

export type ActionReason = VacateReason | RenewReason | CreateReason;
type ActionKind = 'vacate' | 'renew' | 'create';

/** Every action reason with its kind and meaning, in the README's order. */
export const ACTION_REASONS: readonly { reason: ActionReason; kind: ActionKind; meaning: string }[] = [
  ...entries(VACATE_REASONS).map(([reason, meaning]) => ({ reason, kind: 'vacate' as const, meaning })),
  ...entries(RENEW_REASONS).map(([reason, meaning]) => ({ reason, kind: 'renew' as const, meaning })),
  ...entries(CREATE_REASONS).map(([reason, meaning]) => ({ reason, kind: 'create' as const, meaning })),
];

/** Why an action is left for a later pass (`action.deferred`). */
export const DEFERRAL_REASONS = {
  'vacate-budget': 'over the vacate budget of the pass (`maxVacatesPerPass`)',
  'create-budget': 'over `maxCreatesPerPass`',
  capacity: 'vacating would drop healthy capacity below `count − maxUnavailable`',
  surge: 'creating would exceed `count + maxSurge`',
  busy: 'the bot is running a task',
  'dead-recently': 'the bot died less than `deadAfter` ago, or is judged dead by its silence alone (vacated once Swarming marks it dead)',
  'blind-host': "its host's bot list cannot be trusted this pass, so nothing of it is vacated",
  'rollout-halted':
    "the group's image has not booted on any lease: its outdated leases stay and creates on that image wait until one boots, the evidence expires or the image changes",
  evidence:
    "a lease of the group's image that never booted, one of two or more while none of that image's leases is healthy: kept unrenewed (up to max(2, `maxSurge`)) as the evidence that halts the rollout; it expires on its own",
  'lease-list': "MacService's lease list looks cut short this pass, so nothing is created or vacated",
} as const;
export type DeferralReason = keyof typeof DEFERRAL_REASONS;

/** Why an action is not allowed at all this pass (`action.refused`). */
export const REFUSAL_REASONS = {
  brake: 'too many health vacates on one swarming host: the brake engaged',
} as const;
export type RefusalReason = keyof typeof REFUSAL_REASONS;

const HEALTH_REASONS: ReadonlySet<string> = new Set(Object.values(VERDICTS).flatMap((traits) => traits.healthReason ?? []));

export function isHealthReason(reason: ActionReason): reason is HealthReason {
  return HEALTH_REASONS.has(reason);
}

function entries<K extends string, V>(table: Record<K, V>): [K, V][] {
  return Object.entries(table) as [K, V][];
}
