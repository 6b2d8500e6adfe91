// Retries with exponential backoff and full jitter for calls that failed in a way worth
// repeating (429, 5xx, connection errors, timeouts), within the pass's deadline.
import { ApiError, reasonOf } from '../http';

export interface RetryOptions {
  maxAttempts: number;
  /** Epoch ms; no attempt starts and no sleep ends after it. */
  deadlineAt: number;
  /** A create must not be repeated when the server may already have made the lease. */
  retryUnknownOutcome: boolean;
  now: () => number;
  /** Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Shared by the calls to one server, so a Retry-After holds back every call to it. */
  throttle?: Throttle;
  /** Once aborted (a SIGTERM, the observation's deadline), no attempt starts and no wait goes on. */
  signal?: AbortSignal;
}

/**
 * When a server answers 429 or 503 with Retry-After, it asks to be left alone for a while: not
 * only the call that got the answer, every call. The calls sharing a Throttle wait it out.
 */
export class Throttle {
  /** Epoch ms before which no call starts. */
  until = 0;
  hold(until: number): void {
    this.until = Math.max(this.until, until);
  }
}

export interface RetryResult<T> {
  value?: T;
  error?: Error;
  attempts: number;
  /** The pass deadline, not the error, ended the attempts. */
  deadlineReached?: boolean;
}

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<RetryResult<T>> {
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 20_000;
  const sleepFor = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const sleep = (ms: number) => (options.signal ? Promise.race([sleepFor(ms), abortedOf(options.signal)]) : sleepFor(ms));
  const random = options.random ?? Math.random;
  const throttle = options.throttle;
  let attempts = 0;
  let lastError: Error | null = null;
  for (;;) {
    if (options.signal?.aborted) {
      const why = `stopped before attempt ${attempts + 1}: ${reasonOf(options.signal)}`;
      return { error: new Error(lastError ? `${lastError.message} (${why})` : why), attempts };
    }
    // Wait out a Retry-After another call was given, unless that runs past the deadline.
    const heldFor = throttle ? throttle.until - options.now() : 0;
    if (heldFor > 0) {
      if (options.now() + heldFor >= options.deadlineAt) {
        const why = 'the server asked to wait (Retry-After) past the pass deadline';
        return { error: new Error(lastError ? `${lastError.message} (${why})` : why), attempts, deadlineReached: true };
      }
      await sleep(heldFor);
    }
    attempts += 1;
    try {
      return { value: await call(), attempts };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      lastError = error;
      const serverAsked = error instanceof ApiError ? (error.details.retryAfterSeconds ?? 0) * 1000 : 0;
      if (serverAsked > 0) throttle?.hold(options.now() + serverAsked);
      if (!shouldRetry(error, options) || attempts >= options.maxAttempts) return { error, attempts };
      const backoff = random() * Math.min(cap, base * 2 ** (attempts - 1));
      const delay = Math.max(backoff, serverAsked);
      if (options.now() + delay >= options.deadlineAt) {
        return {
          error: new Error(`${error.message} (no time left for attempt ${attempts + 1} before the pass deadline)`),
          attempts,
          deadlineReached: true,
        };
      }
      await sleep(delay);
    }
  }
}

function shouldRetry(error: Error, options: RetryOptions): boolean {
  if (!(error instanceof ApiError) || !error.details.retryable) return false;
  return options.retryUnknownOutcome || !error.details.outcomeUnknown;
}


// One promise per signal, so waiting on it adds no listener per sleep (dozens of calls may wait at once).
const abortions = new WeakMap<AbortSignal, Promise<void>>();

function abortedOf(signal: AbortSignal): Promise<void> {
  let aborted = abortions.get(signal);
  if (!aborted) {
    aborted = signal.aborted ? Promise.resolve() : new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    abortions.set(signal, aborted);
  }
  return aborted;
}
