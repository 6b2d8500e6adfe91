// Small builders with safe defaults and a fixed clock. The defaults describe a converged,
// healthy fleet: a managed lease of the default group, on its current image, three hours old,
// with an idle live bot and an expiry well beyond renewBefore. Tests state only what differs.
import { parseConfig } from '../shared/config/load';
import type { Config, ConfigInput } from '../shared/config/schema';
import { managedProjectName, METADATA, type Bot } from '../shared/fleet';
import type { HostObservation, Observation, ObservedBot, ObservedLease } from '../shared/observe';
import type { Action, Plan } from '../shared/plan/types';

export const NOW = Date.parse('2026-08-03T12:00:00Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** chromium-swarm sorts after chrome-swarming, as in production. */
export const HOST = 'chromium-swarm.appspot.com';
export const HOST2 = 'chrome-swarming.appspot.com';
export const GROUP = 'darwin-amd64-14';
export const IMAGE = 'a'.repeat(64);
export const OLD_IMAGE = 'b'.repeat(64);
export const OTHER_IMAGE = 'c'.repeat(64);

export interface GroupSpec {
  host?: string;
  hostname?: string;
  image?: string;
  count?: number;
}

export interface ConfigSpec {
  /** Default: one group GROUP on HOST running IMAGE with count 1. */
  groups?: GroupSpec[];
  /** Hosts configured even without groups. */
  hosts?: string[];
  policy?: NonNullable<ConfigInput['policy']>;
  retiredHosts?: ConfigInput['retiredHosts'];
}

export function config(spec: ConfigSpec = {}): Config {
  const groups = spec.groups ?? [{}];
  const hosts = [...new Set([...(spec.hosts ?? []), ...groups.map((g) => g.host ?? HOST)])];
  return parseConfig({
    macService: { apiKey: 'env:MACSERVICE_API_KEY', customer: 'golang' },
    swarming: hosts.map((host) => ({
      host,
      pool: 'luci.golang.shared-workers',
      groups: groups
        .filter((g) => (g.host ?? HOST) === host)
        .map((g) => {
          const hostname = g.hostname ?? GROUP;
          return { hostname, image: g.image ?? IMAGE, count: g.count ?? 1, cert: `env:CERT_${hostname.length}`, key: 'env:KEY' };
        }),
    })),
    policy: spec.policy ?? {},
    ...(spec.retiredHosts ? { retiredHosts: spec.retiredHosts } : {}),
  });
}

export interface LeaseSpec {
  id?: string;
  /** The managed host; null for a lease makemac does not own. */
  host?: string | null;
  image?: string;
  /** The `golang.hostname` metadata; null leaves it out (as a Go-made lease, or a find without metadata). */
  hostname?: string | null;
  /** ms since creation for the `makemac.created` stamp; null leaves it out (Go-made lease). */
  createdAgo?: number | null;
  /** ms until expiry; null for a lease MacService sent no expiry for. */
  expiresIn?: number | null;
  /** Overrides on an idle live bot; null for no bot. */
  bot?: (Partial<Omit<ObservedBot, 'lastSeenAt'>> & { lastSeenAgo?: number | null }) | null;
}

let nextId = 0;

export function lease(spec: LeaseSpec = {}): ObservedLease {
  const id = spec.id ?? `lease-${String(++nextId).padStart(3, '0')}`;
  const host = spec.host === undefined ? HOST : spec.host;
  const hostname = spec.hostname === undefined ? GROUP : spec.hostname;
  const createdAgo = spec.createdAgo === undefined ? 3 * HOUR : spec.createdAgo;
  const expiresIn = spec.expiresIn === undefined ? 22 * HOUR + 30 * MINUTE : spec.expiresIn;
  const metadata: Record<string, string> = {};
  if (host !== null) metadata[METADATA.swarming] = host;
  if (hostname !== null) metadata[METADATA.hostname] = hostname;
  if (createdAgo !== null) metadata[METADATA.created] = new Date(NOW - createdAgo).toISOString();
  return {
    leaseId: id,
    customerName: 'golang',
    projectName: host === null ? 'hand-made' : managedProjectName(host),
    managedHost: host,
    expiresAt: expiresIn === null ? null : NOW + expiresIn,
    image: spec.image ?? IMAGE,
    metadata,
    bot: spec.bot === null ? null : bot(id, host ?? HOST, hostname ?? GROUP, spec.bot ?? {}),
  };
}

function bot(leaseId: string, host: string, hostname: string, spec: NonNullable<LeaseSpec['bot']>): ObservedBot {
  const { lastSeenAgo, ...rest } = spec;
  const base: Bot = {
    botId: `${rest.hostname ?? hostname}--${leaseId}.golang.c3.macservice.goog`,
    isDead: false,
    quarantined: false,
    inMaintenance: false,
    taskId: null,
    lastSeenAt: lastSeenAgo === null ? null : NOW - (lastSeenAgo ?? MINUTE),
    firstSeenAt: NOW - 2 * HOUR,
  };
  return { ...base, host, hostname, ...rest };
}

export interface ObservationSpec {
  /** Observed hosts; default HOST and HOST2. */
  hosts?: string[];
  /** Blind hosts, each with its reason. */
  blind?: Record<string, string>;
}

export function observation(leases: ObservedLease[], spec: ObservationSpec = {}): Observation {
  const hosts = spec.hosts ?? [HOST, HOST2];
  return {
    leases: [...leases],
    hosts: hosts.map((host): HostObservation => {
      const reason = spec.blind?.[host];
      // Swarming's clock agrees with makemac's: its freshest bot was seen just now.
      return { host, blind: reason !== undefined, blindReason: reason ?? null, botCount: 0, latestSeenAt: NOW };
    }),
    strayBots: [],
    unparsedBots: [],
    malformedLeases: [],
    skippedLeases: 0,
    leaseListSuspect: null,
    conflictingLeases: [],
  };
}

/** An action as one comparable line: "vacate dead lease-001", "create deficit chromium-swarm.appspot.com/darwin-amd64-14". */
export function describeAction(action: Action): string {
  // A backfill names its image: it is not the group's.
  const subject =
    action.kind === 'create' ? `${action.swarmingHost}/${action.group}${action.reason === 'backfill' ? `@${action.image.slice(0, 4)}` : ''}` : action.leaseId;
  return `${action.kind} ${action.reason} ${subject}`;
}

/** The plan's actions, deferrals, refusals and brakes as comparable lines, in plan order. */
export function describePlan(plan: Plan): { actions: string[]; deferred: string[]; refused: string[]; brakes: string[] } {
  return {
    actions: plan.actions.map(describeAction),
    deferred: plan.deferred.map((d) => `${describeAction(d.action)}: ${d.reason}`),
    refused: plan.refused.map((r) => `${describeAction(r.action)}: ${r.reason}`),
    brakes: plan.brakes.map((b) => `${b.swarmingHost} wanted ${b.wanted} limit ${b.limit} of ${b.managedLeases}`),
  };
}
