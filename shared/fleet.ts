// The fleet's vocabulary: leases and bots as makemac sees them, and the pure rules that
// join them (bot id ↔ lease id), tell ownership (the projectName tag) and age.
import { parseTimestamp } from './timestamp';

/** Lease durations on the wire. The 24h/23h pair is what makes the age rule below work. */
export const CREATE_DURATION_SECONDS = 86_400;
export const RENEW_DURATION_SECONDS = 82_800;

/** Metadata keys the images read at boot, plus makemac's own creation stamp. */
export const METADATA = {
  swarming: 'golang.swarming',
  hostname: 'golang.hostname',
  cert: 'golang.cert',
  key: 'golang.key',
  created: 'makemac.created',
} as const;

const MANAGED_PROJECT_PREFIX = 'makemac/';

export interface Lease {
  leaseId: string;
  customerName: string;
  projectName: string;
  /** Epoch ms. null when MacService sent none: treated as long expired, as Go's zero time was. */
  expiresAt: number | null;
  /** Boot image SHA-256; '' when absent. */
  image: string;
  /** Values may be secrets (golang.cert, golang.key): never log them. */
  metadata: Record<string, string>;
}

export interface Bot {
  botId: string;
  isDead: boolean;
  quarantined: boolean;
  /** Non-empty maintenance message. */
  inMaintenance: boolean;
  /** Non-null ⇔ busy. */
  taskId: string | null;
  lastSeenAt: number | null;
  firstSeenAt: number | null;
}

/** The Swarming host a lease's `makemac/<host>` tag names, or null when it has no such tag. */
export function taggedHost(projectName: string): string | null {
  if (!projectName.startsWith(MANAGED_PROJECT_PREFIX)) return null;
  const host = projectName.slice(MANAGED_PROJECT_PREFIX.length);
  return host === '' ? null : host;
}

/**
 * The host a lease counts toward, or null when makemac does not own it. Ownership is exact: the
 * configured customer, and a tag naming, byte for byte, a configured or retired host. Any other
 * `makemac/…` lease may belong to another deployment sharing the customer, and is never touched.
 */
export function ownedHost(lease: Pick<Lease, 'customerName' | 'projectName'>, customer: string, hosts: ReadonlySet<string>): string | null {
  const host = taggedHost(lease.projectName);
  return lease.customerName === customer && host !== null && hosts.has(host) ? host : null;
}

export function managedProjectName(host: string): string {
  return `${MANAGED_PROJECT_PREFIX}${host}`;
}

export interface ParsedBotId {
  /** The part before `--`: the group's hostname prefix. */
  hostname: string;
  leaseId: string;
}

/**
 * `<hostname>--<leaseId>.<customer>.<anything>.macservice.goog`. Same as Go makemac's
 * regex, except that the customer is the configured one and the dots are literal.
 */
export function parseBotId(botId: string, customer: string): ParsedBotId | null {
  const suffix = `.${customer}.`;
  const match = /^(.+?)--([0-9a-f-]+)(\..+)\.macservice\.goog$/.exec(botId);
  if (!match || !match[3]!.startsWith(suffix) || match[3]!.length <= suffix.length) return null;
  return { hostname: match[1]!, leaseId: match[2]! };
}

const HOUR_MS = 3_600_000;
const STAMP_SKEW_MS = 10 * 60_000;

/**
 * How old a lease is, in ms, or null when it cannot be known (older than an hour).
 *
 * makemac stamps `makemac.created` on every lease it creates. Leases from the Go makemac
 * have no stamp; for them, as Go did: leases are created for 24h and renewed for 23h, so
 * an expiry more than 23h away means the lease was created (expiry − 24h) and never
 * renewed. Otherwise it is at least an hour old and its age is unknown.
 */
export function leaseAgeMs(lease: Lease, now: number): number | null {
  const stamp = lease.metadata[METADATA.created];
  const created = stamp === undefined ? null : parseTimestamp(stamp);
  // A stamp from the future is wrong, not young: beyond clock skew it is ignored.
  if (created !== null && created <= now + STAMP_SKEW_MS) return Math.max(0, now - created);
  // An expiry further away than a create gives is wrong, not young: the same guard as the stamp's.
  const expiresIn = lease.expiresAt === null ? null : lease.expiresAt - now;
  if (expiresIn !== null && expiresIn > RENEW_DURATION_SECONDS * 1000 && expiresIn <= CREATE_DURATION_SECONDS * 1000 + STAMP_SKEW_MS) {
    return Math.max(0, CREATE_DURATION_SECONDS * 1000 - expiresIn);
  }
  return null;
}

/** Created within the last hour: renewing it would cut its expiry below 23h and confuse the age rule. */
export function isWithinFirstHour(lease: Lease, now: number): boolean {
  const age = leaseAgeMs(lease, now);
  return age !== null && age < HOUR_MS;
}

/** Plain code-unit order, as Go's sort.Strings; never localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
