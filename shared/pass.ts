// One reconcile pass: observe → plan → apply → summarize. The only place that sequences
// them; the CLI and the Cloud Function are thin wrappers around runPass.
import { randomUUID } from 'node:crypto';
import { apply, type LeaseMutator, type Outcome, type SecretSource } from './apply/executor';
import { withRetry } from './apply/retry';
import type { Config } from './config/schema';
import { formatDuration } from './duration';
import { managedProjectName } from './fleet';
import { reasonOf, type CallCounter } from './http';
import { mapStrings, redactingLogger, type Logger } from './log';
import {
  actionEntry,
  brakeEntry,
  conflictingLeaseEntry,
  deferredEntries,
  groupStatusEntry,
  ignoredBotEntry,
  interruptedEntry,
  malformedLeaseEntry,
  observeErrorEntry,
  passSummaryEntry,
  refusedEntry,
  suspectLeaseListEntry,
} from './log-events';
import { observe, ObservationError, type BotLister, type LeaseFinder, type Observation, type ObservationSources } from './observe';
import { isExpiring, plan as makePlan } from './plan/plan';
import type { Plan } from './plan/types';
import { summarizePass, type PassSummary } from './summary';

export interface PassClients {
  macService: LeaseFinder & LeaseMutator;
  /** One per configured Swarming host. */
  swarming: ReadonlyMap<string, BotLister>;
}

export interface PassOptions {
  config: Config;
  clients: PassClients;
  secrets: SecretSource;
  logger: Logger;
  calls: CallCounter;
  passId?: string;
  /** Overrides config.dryRun when true (`--dry-run`, `?dryRun=1`). */
  forceDryRun?: boolean;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Replaces the planner (the simulator's emulation of Go makemac); defaults to plan(). */
  planner?: (config: Config, observation: Observation, now: number) => Plan;
  /**
   * Aborted on SIGTERM or SIGINT (its reason names the signal): nothing new starts, calls in
   * flight get INTERRUPT_GRACE_MS to finish, and the pass ends with its summary.
   */
  interrupt?: AbortSignal;
}

/**
 * Shares of passDeadline the reads may take, so a slow API never leaves the renewals without
 * time. A Swarming host not listed within half is blind (its leases are still renewed). The
 * lease list may take up to three quarters, as without it nothing at all can be renewed; not
 * read by then, the observation fails.
 */
const BOT_LIST_SHARE = 0.5;
const LEASE_LIST_SHARE = 0.75;

/** How long calls in flight at a SIGTERM may run on: Cloud Run kills an instance 10 s after one. */
export const INTERRUPT_GRACE_MS = 5_000;

export interface PassResult {
  summary: PassSummary;
  observation: Observation | null;
  plan: Plan | null;
  outcomes: Outcome[];
}

/** The id that ties one pass's log entries together. */
export function newPassId(): string {
  return randomUUID().slice(0, 8);
}

/** `--dry-run` and `?dryRun=1` can turn dry run on, never off. */
export function isDryRun(config: Config, forceDryRun: boolean | undefined): boolean {
  return forceDryRun === true || config.dryRun;
}

export async function runPass(options: PassOptions): Promise<PassResult> {
  const { config } = options;
  // Secrets are read afresh every pass, so a rotation reaches a warm function instance.
  options.secrets.refresh();
  // Everything this pass writes or answers passes through the secret values' redaction.
  const redact = (text: string) => options.secrets.redact(text);
  const logger = redactingLogger(options.logger, redact);
  const now = options.now ?? Date.now;
  const passId = options.passId ?? newPassId();
  const dryRun = isDryRun(config, options.forceDryRun);
  const startedAt = now();
  // The counter may live as long as the clients (a function instance); count this pass only.
  const callsBefore = { ...options.calls.counts };
  const deadlineAt = startedAt + config.policy.passDeadline;
  const { interrupt } = options;

  const reads = deadlinedReads(config, options.clients, { startedAt, now, sleep: options.sleep, random: options.random, interrupt });
  const timers: NodeJS.Timeout[] = [];
  // After an interruption, calls in flight get a grace, then are cancelled.
  const cutoff = new AbortController();
  const onInterrupt = () => {
    logger.write(interruptedEntry(reasonOf(interrupt!), INTERRUPT_GRACE_MS));
    const why = `${reasonOf(interrupt!)}: still in flight after the ${INTERRUPT_GRACE_MS / 1000}s grace`;
    timers.push(setTimeout(() => cutoff.abort(new Error(why)), INTERRUPT_GRACE_MS));
  };
  if (interrupt?.aborted) onInterrupt();
  else interrupt?.addEventListener('abort', onInterrupt, { once: true });
  try {
    return await reconcile();
  } finally {
    reads.release();
    timers.forEach(clearTimeout);
    interrupt?.removeEventListener('abort', onInterrupt);
  }

  // The pass proper: the timers and the listener above are released however it ends.
  async function reconcile(): Promise<PassResult> {
    const finish = (observation: Observation | null, plan: Plan | null, outcomes: Outcome[], observationError?: string): PassResult => {
      const summary = summarizePass({
        passId,
        startedAt,
        finishedAt: now(),
        dryRun,
        interrupted: interrupt?.aborted ?? false,
        apiCalls: callsSince(callsBefore, options.calls.counts),
        observation,
        plan,
        outcomes,
        ...(observationError !== undefined ? { observationError } : {}),
      });
      summary.groups.forEach((group) => logger.write(groupStatusEntry(group)));
      logger.write(passSummaryEntry(summary));
      return { summary: mapStrings(summary, redact), observation, plan: mapStrings(plan, redact), outcomes: mapStrings(outcomes, redact) };
    };

    let observation: Observation;
    try {
      observation = await observe(config, reads.sources, now);
    } catch (err) {
      if (!(err instanceof ObservationError)) throw err;
      logger.write(observeErrorEntry('macservice', err.message));
      return finish(null, null, [], err.message);
    }
    for (const host of observation.hosts) {
      if (host.blind) logger.write(observeErrorEntry('swarming', host.blindReason ?? 'blind', host.host));
    }
    const planNow = now();
    for (const lease of observation.malformedLeases) logger.write(malformedLeaseEntry(lease, isExpiring(lease, config.policy, planNow)));
    for (const bot of observation.unparsedBots) logger.write(ignoredBotEntry(bot.host, bot.botId, 'not a MacService bot id of this customer'));
    for (const bot of observation.strayBots) logger.write(ignoredBotEntry(bot.host, bot.botId, `its lease ${bot.leaseId} is not among the customer's leases`));

    for (const { leaseId, copies } of observation.conflictingLeases) logger.write(conflictingLeaseEntry(leaseId, copies));
    if (observation.leaseListSuspect !== null) logger.write(suspectLeaseListEntry(observation.leaseListSuspect));

    const plan = (options.planner ?? makePlan)(config, observation, planNow);
    plan.brakes.forEach((brake) => logger.write(brakeEntry(brake)));
    plan.refused.forEach((entry) => logger.write(refusedEntry(entry)));
    deferredEntries(plan.deferred).forEach((entry) => logger.write(entry));

    const observedLeaseIds: ReadonlySet<string> = new Set(observation.leases.map((lease) => lease.leaseId));
    const outcomes = await apply(plan.actions, {
      config,
      macService: options.clients.macService,
      secrets: options.secrets,
      dryRun,
      deadlineAt,
      now,
      sleep: options.sleep,
      random: options.random,
      onOutcome: (outcome) => logger.write(actionEntry(outcome)),
      ...(interrupt ? { stop: interrupt, cutoff: cutoff.signal } : {}),
      recheck: {
        // Only the creates' projects, and only leases not seen yet: nothing else can stand in for them.
        find: async (hosts) => {
          const lists = await Promise.all(
            hosts.map((host) => options.clients.macService.find({ projectName: managedProjectName(host), except: observedLeaseIds, signal: cutoff.signal })),
          );
          // Once per lease, should a server ignore the filter and answer every lease each time.
          return [...new Map(lists.flatMap((list) => list.leases).map((lease) => [lease.leaseId, lease])).values()];
        },
        observedLeaseIds,
      },
    });
    return finish(observation, plan, outcomes);
  }
}

/**
 * What observe() reads, as a pass reads it: each read retried like a mutation (reads are
 * idempotent, so an unknown outcome is no obstacle) and stopped at its share of the pass
 * deadline or an interruption, whichever comes first. `release` clears the deadlines' timers.
 */
export function deadlinedReads(
  config: Config,
  clients: PassClients,
  options: { startedAt: number; now: () => number; sleep?: (ms: number) => Promise<void>; random?: () => number; interrupt?: AbortSignal },
): { sources: ObservationSources; release: () => void } {
  const { startedAt, now, interrupt } = options;
  const timers: NodeJS.Timeout[] = [];
  const read = <T>(share: number, call: (signal: AbortSignal) => Promise<T>) => {
    const readDeadlineAt = startedAt + config.policy.passDeadline * share;
    const over = new AbortController();
    const why = `not done within ${formatDuration(readDeadlineAt - startedAt)}, its share of the pass deadline`;
    timers.push(setTimeout(() => over.abort(new Error(why)), Math.max(0, readDeadlineAt - now())));
    const signal = interrupt ? AbortSignal.any([over.signal, interrupt]) : over.signal;
    return withRetry(() => call(signal), {
      maxAttempts: config.policy.maxAttempts,
      deadlineAt: readDeadlineAt,
      retryUnknownOutcome: true,
      now,
      sleep: options.sleep,
      random: options.random,
      signal,
    }).then((result) => {
      if (result.error) throw result.error;
      return result.value as T;
    });
  };
  return {
    sources: {
      macService: { find: () => read(LEASE_LIST_SHARE, (signal) => clients.macService.find({ signal })) },
      swarming: new Map([...clients.swarming].map(([host, lister]) => [host, { listBots: () => read(BOT_LIST_SHARE, (signal) => lister.listBots(signal)) }] as const)),
    },
    release: () => timers.forEach(clearTimeout),
  };
}

function callsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const made = count - (before[endpoint] ?? 0);
    if (made > 0) calls[endpoint] = made;
  }
  return calls;
}
