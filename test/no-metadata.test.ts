// `leases:find` may not echo lease metadata (unverified), so every rule must work without it:
// group attribution falls back to the bot id's prefix, then the image; age to the expiry rule.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildClients } from '../shared/clients';
import { parseConfig } from '../shared/config/load';
import { CallCounter } from '../shared/http';
import { MemoryLogger } from '../shared/log';
import { runPass } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';
import {
  IMAGE_14,
  IMAGE_15,
  IMAGE_OLD,
  PUBLIC_HOST,
  SECRET_ENV,
  SECURITY_HOST,
  startFakeFleet,
  type FakeFleet,
} from './support/fake-fleet';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
let fleet: FakeFleet;

beforeEach(async () => {
  fleet = await startFakeFleet({ echoMetadata: false });
});
afterEach(async () => {
  await fleet.close();
});

describe('a pass when leases:find echoes no metadata', () => {
  it('attributes by bot prefix and image, ages by expiry, and acts exactly as with metadata', async () => {
    const amd = [0, 1].map(() => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    amd.forEach((lease) => fleet.addBotFor(lease));
    // Ten minutes old and no bot yet: only the expiry rule (24h − 10m away) says it is booting.
    const booting = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 10 * MINUTE);
    const arm = fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15);
    fleet.addBotFor(arm, { taskId: 'task-1' });
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    // An old-image lease whose only link to its group is its bot id's prefix.
    const outdated = fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_OLD);
    fleet.addBotFor(outdated);
    // The same image as the public amd64-14 group: the host tag decides.
    const security = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 3 * HOUR);
    fleet.addBotFor(security);

    const config = parseConfig(fleet.configDocument());
    const calls = new CallCounter();
    const secrets = new SecretResolver({ env: SECRET_ENV });
    const result = await runPass({ config, clients: buildClients(config, { calls, secrets }), secrets, calls, logger: new MemoryLogger() });

    expect(result.observation!.leases.every((lease) => Object.keys(lease.metadata).length === 0)).toBe(true);
    const verdict = (id: string) => result.plan!.verdicts.find((v) => v.leaseId === id)!;
    expect(verdict(booting.leaseId)).toMatchObject({ state: 'booting', group: 'darwin-amd64-14', current: true });
    expect(verdict(outdated.leaseId)).toMatchObject({ state: 'healthy-idle', group: 'darwin-arm64-15', current: false });
    expect(verdict(security.leaseId)).toMatchObject({ swarmingHost: SECURITY_HOST, group: 'darwin-amd64-14-security', current: true });
    expect(verdict(dead.leaseId)).toMatchObject({ state: 'dead', group: 'darwin-arm64-15' });

    const sent = fleet.macService.requests.filter((r) => r.verb !== 'find');
    expect(sent.map((r) => [r.verb, r.body.leaseId ?? r.body.instanceSpecification.metadata[1].value])).toEqual([
      ['vacate', dead.leaseId],
      ['create', 'darwin-arm64-15'],
      // Three hours old, so 21h from expiry: inside renewBefore (22h).
      ['renew', security.leaseId],
    ]);
    // The healthy outdated lease waits: vacating it would leave arm64-15 below its count.
    expect(result.plan!.deferred.map((d) => [d.action.kind === 'create' ? '' : d.action.leaseId, d.reason])).toEqual([[outdated.leaseId, 'capacity']]);
    expect(result.summary.outcome).toBe('ok');
  });
});
