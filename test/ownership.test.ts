// Ownership is exactly the configured (and retired) hosts of the configured customer: a lease
// tagged for any other host may belong to another deployment, and is never touched.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinFleet } from '../shared/observe';
import { config, HOST, NOW } from './builders';
import { IMAGE_14, PUBLIC_HOST, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { mutationsOf, runFleetPass } from './support/pass-harness';

const lease = (projectName: string, customerName = 'golang') => ({
  leaseId: 'l1',
  customerName,
  projectName,
  expiresAt: NOW + 3_600_000,
  image: IMAGE_14,
  metadata: {},
});

describe('which leases are managed', () => {
  const cfg = config({ retiredHosts: ['old-swarm.appspot.com'] });
  const managedHostOf = (l: ReturnType<typeof lease>) => joinFleet(cfg, [l], [], NOW).leases[0]!.managedHost;

  it.each([
    ['its configured host, byte for byte', `makemac/${HOST}`, HOST],
    ['a retired host', 'makemac/old-swarm.appspot.com', 'old-swarm.appspot.com'],
    ['another host, perhaps another deployment’s', 'makemac/other-host.appspot.com', null],
    ['a path below its host', `makemac/${HOST}/x`, null],
    ['its host with a trailing space', `makemac/${HOST} `, null],
    ['its host with a zero-width space', `makemac/${HOST}\u200b`, null],
    ['its host in upper case', `makemac/${HOST.toUpperCase()}`, null],
    ['its host with a Greek omicron for an o', `makemac/${HOST.replace('o', '\u03bf')}`, null],
    ['the bare prefix', 'makemac/', null],
    ['no tag', 'hand-made', null],
  ])('a lease tagged with %s', (_name, projectName, expected) => {
    expect(managedHostOf(lease(projectName))).toBe(expected);
  });

  it('a lease of another customer is not managed, whatever its tag', () => {
    expect(managedHostOf(lease(`makemac/${HOST}`, 'someone-else'))).toBeNull();
  });
});

describe('two deployments on one customer', () => {
  let fleet: FakeFleet;
  beforeEach(async () => {
    fleet = await startFakeFleet();
  });
  afterEach(() => fleet.close());

  /** Production serves the public host, staging the security host, each with its own config. */
  function documents() {
    const whole = fleet.configDocument();
    const only = (host: string) => ({ ...whole, swarming: whole.swarming.filter((server) => server.host === host) });
    return { production: only(PUBLIC_HOST), staging: only(SECURITY_HOST) };
  }

  it('coexist for several passes: neither creates, renews or vacates a lease of the other', async () => {
    fleet.seedConvergedFleet();
    // Work for both: a dead bot, a VM that never booted, and leases near expiry on each host.
    for (const host of [PUBLIC_HOST, SECURITY_HOST]) {
      const hostname = host === PUBLIC_HOST ? 'darwin-amd64-14' : 'darwin-amd64-14-security';
      fleet.addBotFor(fleet.addManagedLease(host, hostname, IMAGE_14), { isDead: true, lastSeenAt: 0 });
      fleet.addManagedLease(host, hostname, IMAGE_14, 3 * 3_600_000);
      fleet.addBotFor(fleet.addManagedLease(host, hostname, IMAGE_14, 23 * 3_600_000));
    }
    const hostOf = (leaseId: string) => fleet.world.leases.get(leaseId)?.projectName ?? gone.get(leaseId);
    const gone = new Map<string, string>();
    const { production, staging } = documents();
    for (let pass = 0; pass < 3; pass++) {
      for (const [document, host] of [
        [production, PUBLIC_HOST],
        [staging, SECURITY_HOST],
      ] as const) {
        const before = mutationsOf(fleet).length;
        for (const l of fleet.world.leases.values()) gone.set(l.leaseId, l.projectName);
        await runFleetPass(fleet, { document });
        const made = mutationsOf(fleet).slice(before);
        // Each has work of its own at first: whatever it does, on its own leases only.
        if (pass === 0) expect(made.length, `${host} pass ${pass}`).toBeGreaterThan(0);
        for (const request of made) {
          const body = request.body as { leaseId?: string; vmResourceNamespace?: { projectName: string } };
          const project = body.leaseId !== undefined ? hostOf(body.leaseId) : body.vmResourceNamespace?.projectName;
          expect(project, `${request.verb} by the deployment of ${host}`).toBe(`makemac/${host}`);
        }
      }
    }
  });
});
