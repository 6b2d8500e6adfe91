// A fleet for `makemac fakes --fleet FILE`: hosts, groups and how many leases of each kind to
// seed. The fake servers then serve it and the fleet model moves it in real time.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { customerName, groupCount, hostname, image, swarmingHost, type ConfigInput } from '../config/schema';
import { managedProjectName, METADATA } from '../fleet';
import { HOUR_MS, MINUTE_MS, type FleetModel } from './fleet-model';
import type { WorldLease } from './world';

/** Kinds of seeded leases, and what each looks like to a pass. */
const LEASE_KINDS = ['idle', 'busy', 'booting', 'missing', 'dead', 'quarantined', 'maintenance', 'outdated'] as const;

// The config's own field rules (schema.ts), so a fleet file the fakes take is one a config can describe.
const count = groupCount;
const fleetFileSchema = z.strictObject({
  customer: customerName.default('golang'),
  hosts: z
    .array(
      z.strictObject({
        host: swarmingHost,
        pool: z.string().min(1),
        groups: z
          .array(
            z.strictObject({
              hostname,
              image,
              count,
              leases: z.strictObject(Object.fromEntries(LEASE_KINDS.map((kind) => [kind, count.default(0)])) as Record<(typeof LEASE_KINDS)[number], z.ZodDefault<typeof count>>).default(
                Object.fromEntries(LEASE_KINDS.map((kind) => [kind, 0])) as Record<(typeof LEASE_KINDS)[number], number>,
              ),
            }),
          )
          .min(1),
      }),
    )
    .min(1),
  /** Leases of another project, which makemac must leave alone. */
  unmanaged: count.default(0),
});

export type FleetFile = z.output<typeof fleetFileSchema>;

/** The parsed fleet, or an error naming the offending field. */
export function parseFleetFile(text: string): FleetFile | string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  const result = fleetFileSchema.safeParse(document);
  if (result.success) return result.data;
  return result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(document)'}: ${issue.message}`).join('; ');
}

export const FAKE_CERT = '-----BEGIN CERTIFICATE-----\nZmFrZSBib3QgY2VydA==\n-----END CERTIFICATE-----\n';
export const FAKE_KEY = '-----BEGIN PRIVATE KEY-----\nZmFrZSBib3Qga2V5\n-----END PRIVATE KEY-----\n';

/** The config a pass needs for this fleet against the fakes at `urls` (by host, and `macService`). */
export function fleetFileConfig(fleet: FleetFile, urls: Record<string, string>, apiKey: string): ConfigInput {
  return {
    macService: { url: urls.macService!, apiKey, customer: fleet.customer },
    swarming: fleet.hosts.map((host) => ({
      host: host.host,
      url: urls[host.host]!,
      pool: host.pool,
      groups: host.groups.map((group) => ({ hostname: group.hostname, image: group.image, count: group.count, cert: FAKE_CERT, key: FAKE_KEY })),
    })),
  };
}

/** Puts the file's leases in the model's world, each kind as a pass would find it. */
export function seedFleetFile(model: FleetModel, fleet: FleetFile): void {
  const now = model.clock.now;
  for (const host of fleet.hosts) {
    for (const group of host.groups) {
      const lease = (opts: { ageMs: number; image?: string }): WorldLease =>
        model.world.addLease({
          leaseId: model.newLeaseId(),
          customerName: fleet.customer,
          projectName: managedProjectName(host.host),
          image: opts.image ?? group.image,
          createdAt: now - opts.ageMs,
          // Renewed a while ago: due for renewal again in half an hour.
          expiresAt: now + 22 * HOUR_MS + 30 * MINUTE_MS,
          metadata: [
            { key: METADATA.swarming, value: host.host },
            { key: METADATA.hostname, value: group.hostname },
            { key: METADATA.cert, value: FAKE_CERT },
            { key: METADATA.key, value: FAKE_KEY },
            { key: METADATA.created, value: new Date(now - opts.ageMs).toISOString() },
          ],
        });
      const booted = (opts: { ageMs?: number; image?: string } = {}) => {
        const made = lease({ ageMs: opts.ageMs ?? 30 * HOUR_MS, ...(opts.image ? { image: opts.image } : {}) });
        return { made, bootAt: made.createdAt + 10 * MINUTE_MS };
      };
      const times = (n: number, make: () => void) => Array.from({ length: n }, make);
      const { leases } = group;
      times(leases.idle, () => {
        const { made, bootAt } = booted();
        model.track(made, bootAt);
      });
      times(leases.busy, () => {
        const { made, bootAt } = booted();
        model.track(made, bootAt, { bot: { taskId: `6f${made.leaseId.slice(0, 12)}10`, taskName: 'golang-ci' }, taskEndsAt: now + 20 * MINUTE_MS });
      });
      times(leases.booting, () => model.track(lease({ ageMs: 2 * MINUTE_MS }), now + 3 * MINUTE_MS));
      times(leases.missing, () => model.track(lease({ ageMs: 3 * HOUR_MS }), null));
      times(leases.dead, () => {
        const { made, bootAt } = booted();
        model.track(made, bootAt);
        model.silence(made.leaseId, now - 2 * HOUR_MS);
      });
      times(leases.quarantined, () => {
        const { made, bootAt } = booted();
        model.track(made, bootAt, { bot: { quarantined: true } });
      });
      times(leases.maintenance, () => {
        const { made, bootAt } = booted();
        model.track(made, bootAt, { bot: { maintenanceMsg: 'disk check' } });
      });
      const previous = createHash('sha256').update(`${group.image} previous`).digest('hex');
      times(leases.outdated, () => {
        const { made, bootAt } = booted({ image: previous });
        model.track(made, bootAt);
      });
    }
  }
  const first = fleet.hosts[0]!;
  for (let i = 0; i < fleet.unmanaged; i++) {
    const made = model.world.addLease({
      leaseId: model.newLeaseId(),
      customerName: fleet.customer,
      projectName: 'release-testing',
      image: first.groups[0]!.image,
      createdAt: now - 26 * HOUR_MS,
      expiresAt: now + 2 * HOUR_MS,
      metadata: [
        { key: METADATA.swarming, value: first.host },
        { key: METADATA.hostname, value: `${first.groups[0]!.hostname}-release` },
      ],
    });
    model.track(made, made.createdAt + 10 * MINUTE_MS);
  }
}
