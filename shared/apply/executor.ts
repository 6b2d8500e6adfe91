// The executor: carries out a plan's actions, phase by phase, with bounded concurrency,
// retries and a deadline. It decides nothing: it branches on an action's kind, never on its
// reason, and every action ends with exactly one outcome. Failures are collected, not thrown.
import type { Config } from '../config/schema';
import { CREATE_DURATION_SECONDS, METADATA, managedProjectName, type Lease } from '../fleet';
import { ApiError, reasonOf } from '../http';
import type { CreateLeaseRequest } from '../macservice/wire';
import { PHASE_ORDER, phaseOf, type Action, type CreateAction } from '../plan/types';
import { Throttle, withRetry } from './retry';

/** `signal` cancels a call in flight (a SIGTERM's grace ran out). */
export interface LeaseMutator {
  create(request: CreateLeaseRequest, signal?: AbortSignal): Promise<{ leaseId: string; expiresAt: number | null }>;
  renew(leaseId: string, durationSeconds: number, signal?: AbortSignal): Promise<{ expiresAt: number | null }>;
  vacate(leaseId: string, signal?: AbortSignal): Promise<void>;
}

export interface SecretSource {
  resolve(ref: string): Promise<string>;
  /** Makes the next resolve of each reference read it afresh (once per pass, for rotation). */
  refresh(): void;
  /** Text with every value resolved so far replaced. */
  redact(text: string): string;
}

/** `gone`: a vacate found its lease already gone (404), which is what it wanted; not a failure. */
export type OutcomeKind = 'ok' | 'gone' | 'error' | 'skipped' | 'dry-run';

export interface Outcome {
  action: Action;
  outcome: OutcomeKind;
  /** Why a skipped action did not run: out of time, another pass already did its work, or a SIGTERM/SIGINT. */
  skipReason?: 'deadline' | 'superseded' | 'interrupted';
  /** A failed action whose retries the pass deadline cut short. */
  deadlineReached?: boolean;
  /** Safe to log: API errors never hold keys or metadata values. */
  error?: string;
  attempts: number;
  durationMs: number;
  /** The lease a create made. */
  createdLeaseId?: string;
  /** A create made without the makemac.created stamp, which MacService refused this pass. */
  unstamped?: true;
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
  /** Aborted by a SIGTERM or SIGINT: no action or retry starts after it. */
  stop?: AbortSignal;
  /** Aborted when the calls in flight at `stop` have had their grace: they are cancelled. */
  cutoff?: AbortSignal;
  /**
   * Re-reads the leases of the creates' hosts, while the health vacates run, before the creates.
   * Two passes that overlap (a manual run during a scheduled one) would both fill the same
   * deficit; leases that appeared since the observation stand in for creates of their group.
   * See supersededCreates().
   */
  recheck?: { find: (swarmingHosts: string[]) => Promise<Lease[]>; observedLeaseIds: ReadonlySet<string> };
}

/** What the executor learns during a pass and keeps for its later actions. */
interface PassState {
  /** Every call of the pass goes to MacService, so one Retry-After holds them all back. */
  throttle: Throttle;
  /** Whether creates still carry makemac.created: false once MacService refused it (see createLease). */
  stamp: boolean;
}

export async function apply(actions: readonly Action[], options: ExecutorOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const state: PassState = { throttle: new Throttle(), stamp: true };
  // Started now, read while the health vacates run, awaited just before the creates.
  const creates = actions.filter((action): action is CreateAction => action.kind === 'create');
  const recheck = creates.length > 0 && options.recheck && !options.dryRun ? supersededCreates(creates, options.recheck) : null;
  for (const phase of PHASE_ORDER) {
    let batch = actions.filter((action) => phaseOf(action) === phase);
    if (phase === 'create' && recheck && !options.stop?.aborted) {
      const superseded = await recheck;
      for (const action of superseded) {
        outcomes.push(finish(options, { action, outcome: 'skipped', skipReason: 'superseded', error: 'another pass already created a lease for this group since this one observed the fleet', attempts: 0, durationMs: 0 }));
      }
      batch = batch.filter((action) => !superseded.has(action as CreateAction));
    }
    const results = await mapBounded(batch, options.config.policy.concurrency, (action) => runAction(action, options, state));
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

async function runAction(action: Action, options: ExecutorOptions, state: PassState): Promise<Outcome> {
  const started = options.now();
  if (options.dryRun) return dryRun(action, options);
  if (started >= options.deadlineAt) {
    return finish(options, { action, outcome: 'skipped', skipReason: 'deadline', error: 'pass deadline reached before it started', attempts: 0, durationMs: 0 });
  }
  if (options.stop?.aborted) {
    return finish(options, { action, outcome: 'skipped', skipReason: 'interrupted', error: `interrupted (${reasonOf(options.stop)}) before it started`, attempts: 0, durationMs: 0 });
  }
  // A vacate's 404 means the lease is gone, as asked. After an attempt that may have been
  // applied unheard (a timeout, a cut connection) it is that attempt's doing: ok. Otherwise
  // someone else vacated it (another pass, a person, expiry): gone.
  let appliedUnheard = false;
  let unstamped = false;
  const attempt = (): Promise<string | undefined | typeof GONE> =>
    call(action, options, state, () => (unstamped = true)).then(
      (value) => value,
      (err: unknown) => {
        if (action.kind === 'vacate' && err instanceof ApiError && err.details.status === 404) return appliedUnheard ? undefined : GONE;
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
    throttle: state.throttle,
    ...(options.stop ? { signal: options.stop } : {}),
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
  if (result.value === GONE) return finish(options, { action, outcome: 'gone', attempts: result.attempts, durationMs });
  return finish(options, {
    action,
    outcome: 'ok',
    attempts: result.attempts,
    durationMs,
    ...(result.value ? { createdLeaseId: result.value } : {}),
    ...(unstamped ? { unstamped: true as const } : {}),
  });
}

const GONE = Symbol('gone');

/**
 * A dry run changes nothing but reads what a live pass would: a create's bot cert and key, so
 * a secret that cannot be read fails the dry run as it would fail the create.
 */
async function dryRun(action: Action, options: ExecutorOptions): Promise<Outcome> {
  if (action.kind === 'create') {
    try {
      await createRequest(action, options, true);
    } catch (err) {
      return finish(options, { action, outcome: 'error', error: (err as Error).message, attempts: 0, durationMs: 0 });
    }
  }
  return finish(options, { action, outcome: 'dry-run', attempts: 0, durationMs: 0 });
}

/** Performs one action; resolves to the new lease id for a create. */
async function call(action: Action, options: ExecutorOptions, state: PassState, onUnstamped: () => void): Promise<string | undefined> {
  switch (action.kind) {
    case 'vacate':
      await options.macService.vacate(action.leaseId, options.cutoff);
      return undefined;
    case 'renew':
      await options.macService.renew(action.leaseId, action.durationSeconds, options.cutoff);
      return undefined;
    case 'create':
      return createLease(action, options, state, onUnstamped);
  }
}

/**
 * Whether MacService accepts a metadata key the images do not read is unverified. If it refuses
 * the makemac.created stamp (400 about metadata: nothing was created), the create is sent once
 * more without it, and so are the pass's later creates; age then comes from the expiry (fleet.ts).
 */
async function createLease(action: CreateAction, options: ExecutorOptions, state: PassState, onUnstamped: () => void): Promise<string> {
  const stamped = state.stamp;
  if (!stamped) onUnstamped();
  try {
    return (await options.macService.create(await createRequest(action, options, stamped), options.cutoff)).leaseId;
  } catch (err) {
    if (!stamped || !isMetadataRefusal(err)) throw err;
    state.stamp = false;
    onUnstamped();
    return (await options.macService.create(await createRequest(action, options, false), options.cutoff)).leaseId;
  }
}

function isMetadataRefusal(err: unknown): boolean {
  return err instanceof ApiError && err.details.status === 400 && /metadata|makemac\.created/i.test(err.message);
}

/** The request the contract fixes; the bot cert and key are resolved only now, when a lease is made. */
async function createRequest(action: CreateAction, options: ExecutorOptions, stamped: boolean): Promise<CreateLeaseRequest> {
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
      ...(stamped ? [{ key: METADATA.created, value: new Date(options.now()).toISOString() }] : []),
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
