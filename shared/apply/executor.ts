// The executor: carries out a plan's actions, phase by phase, with bounded concurrency,
// retries and a deadline. It decides nothing: it branches on an action's kind, never on its
// reason, and every action ends with exactly one outcome. Failures are collected, not thrown.
import type { Config } from '../config/schema';
import { CREATE_DURATION_SECONDS, METADATA, managedProjectName, type Lease } from '../fleet';
import { ApiError } from '../http';
import type { CreateLeaseRequest } from '../macservice/wire';
import { PHASE_ORDER, phaseOf, type Action, type CreateAction } from '../plan/types';
import { Throttle, withRetry } from './retry';

export interface LeaseMutator {
  create(request: CreateLeaseRequest): Promise<{ leaseId: string; expiresAt: number | null }>;
  renew(leaseId: string, durationSeconds: number): Promise<{ expiresAt: number | null }>;
  vacate(leaseId: string): Promise<void>;
}

export interface SecretSource {
  resolve(ref: string): Promise<string>;
  /** Makes the next resolve of each reference read it afresh (once per pass, for rotation). */
  refresh(): void;
  /** Text with every value resolved so far replaced. */
  redact(text: string): string;
}

export type OutcomeKind = 'ok' | 'error' | 'skipped' | 'dry-run';

export interface Outcome {
  action: Action;
  outcome: OutcomeKind;
  /** Why a skipped action did not run: out of time, or another pass already did its work. */
  skipReason?: 'deadline' | 'superseded';
  /** A failed action whose retries the pass deadline cut short. */
  deadlineReached?: boolean;
  /** Safe to log: API errors never hold keys or metadata values. */
  error?: string;
  attempts: number;
  durationMs: number;
  /** The lease a create made. */
  createdLeaseId?: string;
}

export interface ExecutorOptions {
  config: Config;
  macService: LeaseMutator;
  secrets: SecretSource;
  dryRun: boolean;
  /** Epoch ms; actions not started by then are skipped. */
  deadlineAt: number;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called as each action finishes, so its log line is written when it happens. */
  onOutcome?: (outcome: Outcome) => void;
  /**
   * Re-reads the leases of the creates' hosts, while the health vacates run, before the creates.
   * Two passes that overlap (a manual run during a scheduled one) would both fill the same
   * deficit; leases that appeared since the observation stand in for creates of their group.
   * See supersededCreates().
   */
  recheck?: { find: (swarmingHosts: string[]) => Promise<Lease[]>; observedLeaseIds: ReadonlySet<string> };
}

export async function apply(actions: readonly Action[], options: ExecutorOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  // Every call of the pass goes to MacService, so one Retry-After holds them all back.
  const throttle = new Throttle();
  // Started now, read while the health vacates run, awaited just before the creates.
  const creates = actions.filter((action): action is CreateAction => action.kind === 'create');
  const recheck = creates.length > 0 && options.recheck && !options.dryRun ? supersededCreates(creates, options.recheck) : null;
  for (const phase of PHASE_ORDER) {
    let batch = actions.filter((action) => phaseOf(action) === phase);
    if (phase === 'create' && recheck) {
      const superseded = await recheck;
      for (const action of superseded) {
        outcomes.push(finish(options, { action, outcome: 'skipped', skipReason: 'superseded', error: 'another pass already created a lease for this group since this one observed the fleet', attempts: 0, durationMs: 0 }));
      }
      batch = batch.filter((action) => !superseded.has(action as CreateAction));
    }
    const results = await mapBounded(batch, options.config.policy.concurrency, (action) => runAction(action, options, throttle));
    outcomes.push(...results);
  }
  return outcomes;
}

/** Creates made unnecessary by leases of the same group and image that appeared since observation. */
async function supersededCreates(
  creates: CreateAction[],
  recheck: NonNullable<ExecutorOptions['recheck']>,
): Promise<Set<CreateAction>> {
  let fresh: Lease[];
  try {
    fresh = await recheck.find([...new Set(creates.map((action) => action.swarmingHost))].sort());
  } catch {
    // The plan stands: without a fresh read the creates are as justified as when planned.
    return new Set();
  }
  const appeared = fresh.filter((lease) => !recheck.observedLeaseIds.has(lease.leaseId));
  const superseded = new Set<CreateAction>();
  for (const action of creates) {
    const index = appeared.findIndex(
      (lease) =>
        lease.projectName === managedProjectName(action.swarmingHost) &&
        lease.image === action.image &&
        (lease.metadata[METADATA.hostname] ?? action.group) === action.group,
    );
    if (index === -1) continue;
    appeared.splice(index, 1);
    superseded.add(action);
  }
  return superseded;
}

function finish(options: ExecutorOptions, outcome: Outcome): Outcome {
  options.onOutcome?.(outcome);
  return outcome;
}

async function runAction(action: Action, options: ExecutorOptions, throttle: Throttle): Promise<Outcome> {
  const started = options.now();
  if (options.dryRun) return dryRun(action, options);
  if (started >= options.deadlineAt) {
    return finish(options, { action, outcome: 'skipped', skipReason: 'deadline', error: 'pass deadline reached before it started', attempts: 0, durationMs: 0 });
  }
  // An attempt that may have been applied unheard (a timeout, a cut connection) makes the
  // next attempt's 404 on a vacate the first attempt's doing: the lease is gone, as asked.
  let appliedUnheard = false;
  const attempt = () =>
    call(action, options).then(
      (value) => value,
      (err: unknown) => {
        if (action.kind === 'vacate' && appliedUnheard && err instanceof ApiError && err.details.status === 404) return undefined;
        if (err instanceof ApiError && err.details.outcomeUnknown) appliedUnheard = true;
        throw err;
      },
    );
  const result = await withRetry(attempt, {
    maxAttempts: options.config.policy.maxAttempts,
    deadlineAt: options.deadlineAt,
    retryUnknownOutcome: action.kind !== 'create',
    now: options.now,
    sleep: options.sleep,
    random: options.random,
    throttle,
  });
  const durationMs = options.now() - started;
  if (result.error) {
    return finish(options, {
      action,
      outcome: 'error',
      error: result.error.message,
      attempts: result.attempts,
      durationMs,
      ...(result.deadlineReached ? { deadlineReached: true } : {}),
    });
  }
  return finish(options, {
    action,
    outcome: 'ok',
    attempts: result.attempts,
    durationMs,
    ...(result.value ? { createdLeaseId: result.value } : {}),
  });
}

/**
 * A dry run changes nothing but reads what a live pass would: a create's bot cert and key, so
 * a secret that cannot be read fails the dry run as it would fail the create.
 */
async function dryRun(action: Action, options: ExecutorOptions): Promise<Outcome> {
  if (action.kind === 'create') {
    try {
      await createRequest(action, options);
    } catch (err) {
      return finish(options, { action, outcome: 'error', error: (err as Error).message, attempts: 0, durationMs: 0 });
    }
  }
  return finish(options, { action, outcome: 'dry-run', attempts: 0, durationMs: 0 });
}

/** Performs one action; resolves to the new lease id for a create. */
async function call(action: Action, options: ExecutorOptions): Promise<string | undefined> {
  switch (action.kind) {
    case 'vacate':
      await options.macService.vacate(action.leaseId);
      return undefined;
    case 'renew':
      await options.macService.renew(action.leaseId, action.durationSeconds);
      return undefined;
    case 'create':
      return (await options.macService.create(await createRequest(action, options))).leaseId;
  }
}

/** The request the contract fixes; the bot cert and key are resolved only now, when a lease is made. */
async function createRequest(action: CreateAction, options: ExecutorOptions): Promise<CreateLeaseRequest> {
  const { config } = options;
  const group = config.swarming
    .find((server) => server.host === action.swarmingHost)
    ?.groups.find((g) => g.hostname === action.group);
  if (!group) throw new Error(`group ${action.group} of ${action.swarmingHost} is not in the config`);
  const [cert, key] = await Promise.all([options.secrets.resolve(group.cert), options.secrets.resolve(group.key)]);
  return {
    projectName: managedProjectName(action.swarmingHost),
    // The group's image, or while its rollout is halted, its last known good image (backfill).
    image: action.image,
    profile: config.macService.profile,
    accessLevel: config.macService.accessLevel,
    durationSeconds: CREATE_DURATION_SECONDS,
    metadata: [
      { key: METADATA.swarming, value: action.swarmingHost },
      { key: METADATA.hostname, value: group.hostname },
      { key: METADATA.cert, value: cert },
      { key: METADATA.key, value: key },
      { key: METADATA.created, value: new Date(options.now()).toISOString() },
    ],
  };
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the input order in the result. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
