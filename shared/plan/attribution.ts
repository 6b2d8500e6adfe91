// Group attribution: which configured group a managed lease counts toward, and whether it runs
// that group's current image. `leases:find` may not echo metadata, so every step has a fallback.
import type { Config, Group, SwarmingServer } from '../config/schema';
import { METADATA } from '../fleet';
import type { ObservedLease } from '../observe';

export interface Attribution {
  /** The configured server of the lease's managed host; null when that host is retired. */
  server: SwarmingServer | null;
  /** null: orphaned (its group is no longer configured) or retired. */
  group: Group | null;
  /** The lease runs its group's image. Always false for an orphan. */
  current: boolean;
}

/**
 * Among the groups of the lease's host, in order of trust: the group its `golang.hostname`
 * metadata names, else the one its bot id's prefix names, else the one running its image.
 */
function groupOf(server: SwarmingServer, lease: ObservedLease): Group | null {
  const byHostname = (name: string | undefined) =>
    name === undefined ? undefined : server.groups.find((group) => group.hostname === name);
  return (
    byHostname(lease.metadata[METADATA.hostname]) ??
    byHostname(lease.bot?.hostname) ??
    server.groups.find((group) => group.image === lease.image) ??
    null
  );
}

/** Attributes a managed lease (one with a managedHost) to its server and group. */
export function attributeLease(config: Config, lease: ObservedLease): Attribution {
  const server = config.swarming.find((s) => s.host === lease.managedHost) ?? null;
  const group = server === null ? null : groupOf(server, lease);
  return { server, group, current: group !== null && group.image === lease.image };
}
