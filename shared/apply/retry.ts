// Retries with exponential backoff and full jitter for calls that failed in a way worth
// repeating (429, 5xx, connection errors, timeouts), within the pass's deadline.
import { ApiError } from '../http';

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
}

export interface RetryResult<T> {
  value?: T;
  error?: Error;
  attempts: number;
}

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions): Promise<RetryResult<T>> {
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 20_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      return { value: await call(), attempts };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (!shouldRetry(error, options) || attempts >= options.maxAttempts) return { error, attempts };
      const backoff = random() * Math.min(cap, base * 2 ** (attempts - 1));
      const serverAsked = error instanceof ApiError ? (error.details.retryAfterSeconds ?? 0) * 1000 : 0;
      const delay = Math.max(backoff, serverAsked);
      if (options.now() + delay >= options.deadlineAt) {
        return { error: new Error(`${error.message} (no time left for attempt ${attempts + 1} before the pass deadline)`), attempts };
      }
      await sleep(delay);
    }
  }
}

function shouldRetry(error: Error, options: RetryOptions): boolean {
  if (!(error instanceof ApiError) || !error.details.retryable) return false;
  return options.retryUnknownOutcome || !error.details.outcomeUnknown;
}
