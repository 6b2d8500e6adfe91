// The log contract as data: every event makemac writes, the fields each carries, and which
// fields are also Cloud Logging labels. Log-based metrics, alerts and the README depend on these
// names; log-events.ts builds entries against this table, the JSON logger reads the labels from
// it, and tests check real log lines and terraform/ against it.

/** Fields every entry carries (with Cloud Logging's `severity`). */
export const COMMON_FIELDS = ['message', 'event', 'passId', 'dryRun'] as const;

/** Fields also written as Cloud Logging labels (`logging.googleapis.com/labels`): indexed, cheap to filter on. */
export const LABEL_FIELDS = ['passId'] as const;

const ACTION_FIELDS = [
  'leaseId',
  'reason',
  'swarmingHost',
  'group',
  'image',
  'outcome',
  'detail',
  'attempts',
  'durationMs',
  'error?',
  'stamped?',
] as const;

const GROUP_FIELDS = [
  'swarmingHost',
  'group',
  'image',
  'desired',
  'leases',
  'healthy',
  'busy',
  'booting',
  'unhealthy',
  'outdated',
  'unknown',
  'rolloutHalted',
  'backfillImage',
  'created',
  'vacated',
  'renewed',
  'failed',
  'healthyRatio?',
] as const;

/** Each event's own fields; a trailing `?` marks a field left out when it has no value. */
export const LOG_EVENTS = {
  'lease.create': ACTION_FIELDS,
  'lease.renew': ACTION_FIELDS,
  'lease.vacate': ACTION_FIELDS,
  'action.deferred': ['action', 'reason', 'deferral', 'count', 'leaseId', 'swarmingHost', 'group', 'detail'],
  'action.refused': ['action', 'reason', 'refusal', 'leaseId', 'swarmingHost', 'group', 'detail'],
  'safety.brake': ['swarmingHost', 'wanted', 'limit', 'managedLeases'],
  'observe.error': ['source', 'swarmingHost?', 'error'],
  'config.error': ['error'],
  'pass.interrupted': ['signal', 'graceMs'],
  'pass.error': ['error'],
  'lease.duplicate': ['leaseId', 'copies'],
  'bot.ignored': ['swarmingHost', 'botId', 'why'],
  'lease.malformed': ['leaseId', 'swarmingHost', 'expires', 'renewalDue', 'error'],
  'group.status': GROUP_FIELDS,
  'pass.summary': [
    'outcome',
    'failures',
    'durationMs',
    'blindHosts',
    'brakeEngaged',
    'malformedLeases?',
    'skippedLeases?',
    'soonestExpiryHours?',
    'apiCalls',
    'actions',
    'groups',
  ],
} as const satisfies Record<string, readonly string[]>;

export type LogEvent = keyof typeof LOG_EVENTS;
export const EVENT_NAMES = Object.keys(LOG_EVENTS) as LogEvent[];

type Declared<E extends LogEvent> = (typeof LOG_EVENTS)[E][number];
type Required<E extends LogEvent> = Exclude<Declared<E>, `${string}?`>;
type OptionalName<D> = D extends `${infer F}?` ? F : never;
type Optional<E extends LogEvent> = OptionalName<Declared<E>>;

/** The fields an entry of event E must and may carry, for the builders in log-events.ts. */
export type EventFields<E extends LogEvent> = { [K in Required<E>]: unknown } & { [K in Optional<E>]?: unknown };

/** A field's name without its optional mark. */
export function fieldName(declared: string): string {
  return declared.endsWith('?') ? declared.slice(0, -1) : declared;
}

/** Every field name an event may carry, common ones included. */
export function fieldsOf(event: LogEvent): string[] {
  return [...COMMON_FIELDS, ...LOG_EVENTS[event].map(fieldName)];
}
