// The executor with the real MacService client against the fake: phases, concurrency,
// retries, the deadline, dry run, and creates whose outcome is unknown.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apply, type ExecutorOptions } from '../shared/apply/executor';
import { Throttle, withRetry } from '../shared/apply/retry';
import { parseConfig } from '../shared/config/load';
import { ApiError, CallCounter } from '../shared/http';
import { MacServiceClient } from '../shared/macservice/client';
import type { Action } from '../shared/plan/types';
import { SecretResolver } from '../shared/secrets';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, SECRETS, startFakeFleet, type FakeFleet } from './support/fake-fleet';

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(async () => {
  await fleet.close();
});

const vacate = (leaseId: string, reason: 'dead' | 'excess' = 'dead'): Action => ({
  kind: 'vacate',
  leaseId,
  reason,
  swarmingHost: PUBLIC_HOST,
  group: 'darwin-amd64-14',
  image: IMAGE_14,
  detail: 'test',
});
const renew = (leaseId: string): Action => ({
  kind: 'renew',
  leaseId,
  reason: 'expiring',
  durationSeconds: 82_800,
  swarmingHost: PUBLIC_HOST,
  group: 'darwin-amd64-14',
  image: IMAGE_14,
  detail: 'test',
});
const create = (): Action => ({ kind: 'create', reason: 'deficit', swarmingHost: PUBLIC_HOST, group: 'darwin-amd64-14', image: IMAGE_14, detail: 'test' });

function options(overrides: Partial<ExecutorOptions> = {}, policy: Record<string, unknown> = {}): ExecutorOptions {
  const config = parseConfig(fleet.configDocument({ policy: { maxAttempts: 3, ...policy } }));
  return {
    config,
    macService: new MacServiceClient({ url: config.macService.url, apiKey: async () => SECRETS.apiKey, customer: 'golang', timeoutMs: 1_000, calls: new CallCounter() }),
    secrets: new SecretResolver({ env: SECRET_ENV }),
    dryRun: false,
    deadlineAt: Date.now() + 60_000,
    now: Date.now,
    sleep: async () => undefined,
    random: () => 0.5,
    ...overrides,
  };
}

describe('apply', () => {
  it('runs health vacates, then creates, then renewals, then replacement vacates', async () => {
    const a = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const b = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const c = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const outcomes = await apply([vacate(c.leaseId, 'excess'), renew(b.leaseId), create(), vacate(a.leaseId)], options());
    expect(fleet.macService.requests.map((r) => [r.verb, r.body.leaseId ?? ''])).toEqual([
      ['vacate', a.leaseId],
      ['create', ''],
      ['renew', b.leaseId],
      ['vacate', c.leaseId],
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(outcomes[1]!.createdLeaseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fleet.world.leases.has(outcomes[1]!.createdLeaseId!)).toBe(true);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const leases = Array.from({ length: 9 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.macService.inject('renew', { kind: 'delay', ms: 40 });
    let inFlight = 0;
    let most = 0;
    const base = options({}, { concurrency: 3 });
    const client = base.macService;
    const counting = {
      ...client,
      create: client.create.bind(client),
      vacate: client.vacate.bind(client),
      renew: async (id: string, seconds: number) => {
        most = Math.max(most, ++inFlight);
        try {
          return await client.renew(id, seconds);
        } finally {
          inFlight--;
        }
      },
    };
    const outcomes = await apply(leases.map((l) => renew(l.leaseId)), { ...base, macService: counting });
    expect(outcomes.every((o) => o.outcome === 'ok')).toBe(true);
    expect(most).toBe(3);
  });

  it('retries 503 and 429 up to maxAttempts, honouring Retry-After', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.macService.inject('renew', { kind: 'status', status: 429, retryAfter: '7', times: 1 });
    fleet.macService.inject('renew', { kind: 'status', status: 503, times: 1 });
    const slept: number[] = [];
    let clock = Date.now();
    const [outcome] = await apply(
      [renew(lease.leaseId)],
      options({ now: () => clock, deadlineAt: clock + 60_000, sleep: async (ms) => void slept.push(ms, (clock += ms)) }),
    );
    expect(outcome).toMatchObject({ outcome: 'ok', attempts: 3 });
    expect(slept.filter((_, i) => i % 2 === 0)).toEqual([7_000, 0.5 * 1_000]);
  });

  it('counts retries cut short by the deadline as the deadline’s doing', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.macService.inject('renew', { kind: 'status', status: 429, retryAfter: '120' });
    const [outcome] = await apply([renew(lease.leaseId)], options({ deadlineAt: Date.now() + 30_000 }));
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 1, deadlineReached: true });
  });

  it('gives up after maxAttempts and reports the last error, naming the lease', async () => {
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.macService.inject('vacate', { kind: 'status', status: 500 });
    const [outcome] = await apply([vacate(lease.leaseId)], options());
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 3 });
    expect(outcome!.error).toContain(`HTTP 500 (lease ${lease.leaseId})`);
  });

  it('does not retry a 4xx other than 429', async () => {
    fleet.macService.inject('renew', { kind: 'status', status: 404 });
    const [outcome] = await apply([renew('dddddddd-0000-4000-8000-000000000000')], options());
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 1 });
  });

  it('never retries a create whose outcome is unknown', async () => {
    fleet.macService.inject('create', { kind: 'drop-after-apply', times: 1 });
    const [outcome] = await apply([create()], options());
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 1 });
    expect(fleet.macService.requests.filter((r) => r.verb === 'create')).toHaveLength(1);
    // The lease was made; the next pass will count it.
    expect(fleet.world.leases.size).toBe(1);
  });

  it('skips actions not started by the deadline', async () => {
    let clock = 1_000;
    const outcomes = await apply([create(), renew('x')], options({ now: () => (clock += 10), deadlineAt: 1_005 }));
    expect(outcomes.map((o) => [o.outcome, o.skipReason])).toEqual([
      ['skipped', 'deadline'],
      ['skipped', 'deadline'],
    ]);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('stops retrying when the next attempt would pass the deadline', async () => {
    fleet.macService.inject('renew', { kind: 'status', status: 503, retryAfter: '120' });
    const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const [outcome] = await apply([renew(lease.leaseId)], options({ deadlineAt: Date.now() + 30_000 }));
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 1 });
    expect(outcome!.error).toContain('no time left');
  });

  it('in dry run calls nothing, but reads the secrets a create would send', async () => {
    const asked: string[] = [];
    const secrets = new SecretResolver({ env: SECRET_ENV });
    const recording = { resolve: (ref: string) => (asked.push(ref), secrets.resolve(ref)), redact: (text: string) => text, refresh: () => undefined };
    const outcomes = await apply([create(), vacate('x'), renew('y')], options({ dryRun: true, secrets: recording }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['dry-run', 'dry-run', 'dry-run']);
    expect(fleet.macService.requests).toEqual([]);
    expect(asked.sort()).toEqual(['env:MAKEMAC_TEST_CERT', 'env:MAKEMAC_TEST_KEY']);
  });

  it('in dry run reports a create whose secret cannot be read as failed, as the live create would be', async () => {
    const outcomes = await apply([create(), renew('y')], options({ dryRun: true, secrets: new SecretResolver({ env: {} }) }));
    expect(outcomes.map((o) => o.outcome)).toEqual(['error', 'dry-run']);
    expect(outcomes[0]!.error).toContain('MAKEMAC_TEST_CERT');
    expect(fleet.macService.requests).toEqual([]);
  });

  it('reports a secret that cannot be resolved as the create’s error, naming the reference only', async () => {
    const [outcome] = await apply([create()], options({ secrets: new SecretResolver({ env: {} }) }));
    expect(outcome).toMatchObject({ outcome: 'error', attempts: 1 });
    expect(outcome!.error).toContain('MAKEMAC_TEST_CERT');
    expect(fleet.macService.requests).toEqual([]);
  });

  it('skips creates that a lease made by another pass since observation already covers', async () => {
    const observed = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    const base = options();
    const outcomes = await apply([create(), create()], {
      ...base,
      recheck: { find: () => (base.macService as MacServiceClient).find().then((list) => list.leases), observedLeaseIds: new Set([observed.leaseId]) },
    });
    expect(outcomes.map((o) => [o.outcome, o.skipReason])).toEqual([
      ['skipped', 'superseded'],
      ['ok', undefined],
    ]);
    expect(fleet.macService.requests.filter((r) => r.verb === 'create')).toHaveLength(1);
  });
});

describe('withRetry', () => {
  const base = { maxAttempts: 4, deadlineAt: Number.MAX_SAFE_INTEGER, retryUnknownOutcome: true, now: () => 0, random: () => 1 };
  const retryable = new ApiError('busy', { endpoint: 'e', retryable: true, outcomeUnknown: false });

  it('backs off exponentially, capped, with jitter from random()', async () => {
    const slept: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        throw retryable;
      },
      { ...base, maxAttempts: 6, sleep: async (ms) => void slept.push(ms), baseDelayMs: 100, maxDelayMs: 1_000 },
    );
    expect(calls).toBe(6);
    expect(result.error).toBe(retryable);
    expect(slept).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('holds back the other calls sharing a throttle while a Retry-After runs', async () => {
    let clock = 0;
    const throttle = new Throttle();
    const shared = { ...base, maxAttempts: 1, now: () => clock, deadlineAt: 120_000, sleep: async (ms: number) => void (clock += ms), throttle };
    const refused = new ApiError('429', { endpoint: 'e', status: 429, retryable: true, outcomeUnknown: false, retryAfterSeconds: 30 });
    await withRetry(async () => {
      throw refused;
    }, shared);
    const sentAt: number[] = [];
    const result = await withRetry(async () => sentAt.push(clock), shared);
    expect(result.error).toBeUndefined();
    expect(sentAt).toEqual([30_000]);
    // And a wait that would run past the deadline is not started at all.
    throttle.hold(clock + 200_000);
    const late = await withRetry(async () => sentAt.push(clock), shared);
    expect(late).toMatchObject({ attempts: 0, deadlineReached: true });
    expect(sentAt).toHaveLength(1);
  });

  it('does not retry errors that are not API errors', async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        throw new Error('bug');
      },
      { ...base, sleep: async () => undefined },
    );
    expect(calls).toBe(1);
    expect(result.error?.message).toBe('bug');
  });
});
