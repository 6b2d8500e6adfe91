// The one place makemac sends HTTP. Both API clients go through postJson so timeouts,
// body-size caps and the error shape are the same everywhere.
import type { z } from 'zod';

/** A failed API call. `message` is safe to log: it never holds request headers or lease metadata. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly details: {
      /** e.g. `macservice leases:create`, `swarming chromium-swarm.appspot.com ListBots`. */
      endpoint: string;
      status?: number;
      /** Worth another attempt: 429, 5xx, connection failures, timeouts. */
      retryable: boolean;
      /** The request may have reached the server, so a create may have happened. */
      outcomeUnknown: boolean;
      /** Seconds from a Retry-After header, when the server sent one. */
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** '' when a 200 body went to `onBody` instead. */
  body: string;
}

export interface PostOptions {
  endpoint: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Larger bodies are refused rather than buffered (or, with onBody, rather than read on). */
  maxResponseBytes?: number;
  /**
   * Receives a 200 answer's body chunk by chunk as it arrives, instead of it being kept whole;
   * returns false to stop reading. Other statuses' bodies are read whole for the error message.
   */
  onBody?: (chunk: Uint8Array) => boolean;
  /** Cancels the request (the observation's deadline, a SIGTERM's grace); its reason says why. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export async function postJson(url: string, options: PostOptions): Promise<HttpResponse> {
  const { endpoint, timeoutMs } = options;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal;
  try {
    // Given up on before it was sent: it cannot have reached the server.
    if (options.signal?.aborted) throw cancelled(endpoint, options.signal, false);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: options.headers, body: options.body, signal });
    } catch (err) {
      if (options.signal?.aborted) throw cancelled(endpoint, options.signal);
      if (abort.signal.aborted) {
        throw new ApiError(`${endpoint}: no response within ${timeoutMs}ms`, {
          endpoint,
          retryable: true,
          outcomeUnknown: true,
        });
      }
      const reason = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = reason?.code ?? reason?.message ?? (err as Error).message;
      // A refused connection never reached the server; anything else may have.
      const refused = cause === 'ECONNREFUSED' || cause === 'ENOTFOUND' || cause === 'EAI_AGAIN';
      throw new ApiError(`${endpoint}: connection failed (${cause})`, {
        endpoint,
        retryable: true,
        outcomeUnknown: !refused,
      });
    }
    const sink = response.status === 200 ? options.onBody : undefined;
    let body: string;
    try {
      body = await readCapped(response, maxBytes, endpoint, abort.signal, timeoutMs, sink);
    } catch (err) {
      if (options.signal?.aborted) throw cancelled(endpoint, options.signal);
      throw err;
    }
    return { status: response.status, headers: response.headers, body };
  } finally {
    clearTimeout(timer);
  }
}

/** A request makemac gave up on: it may have reached the server, and is not worth repeating. */
function cancelled(endpoint: string, signal: AbortSignal, sent = true): ApiError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return new ApiError(`${endpoint}: cancelled: ${reason}`, { endpoint, retryable: false, outcomeUnknown: sent });
}

async function readCapped(
  response: Response,
  maxBytes: number,
  endpoint: string,
  signal: AbortSignal,
  timeoutMs: number,
  sink?: (chunk: Uint8Array) => boolean,
): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(endpoint, response.status, maxBytes);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw tooLarge(endpoint, response.status, maxBytes);
      }
      if (!sink) chunks.push(chunk);
      else if (!sink(chunk)) {
        await response.body.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(
      signal.aborted
        ? `${endpoint}: response body not complete within ${timeoutMs}ms`
        : `${endpoint}: response body cut off (${(err as Error).message})`,
      { endpoint, status: response.status, retryable: true, outcomeUnknown: true },
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(endpoint: string, status: number, maxBytes: number): ApiError {
  return new ApiError(`${endpoint}: response larger than ${maxBytes} bytes refused`, {
    endpoint,
    status,
    retryable: false,
    outcomeUnknown: true,
  });
}

/**
 * Server text without anything shaped like key material, for error messages: PEM blocks (the
 * bot cert and key) and long base64 runs (a key stored base64-encoded). Servers are not
 * expected to echo secrets, but an error body is untrusted text. Hex runs (image SHA-256s)
 * and ids with dashes are left alone.
 */
export function redactKeyMaterial(text: string): string {
  return text
    .replace(/-----BEGIN [^-]*-----[\s\S]*?(?:-----END [^-]*-----|$)/g, '[PEM redacted]')
    .replace(/(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*[G-Zg-z+/])[A-Za-z0-9+/]{40,}={0,2}/g, '[base64 redacted]')
    // The same run URL-encoded, as a proxy echoing a form or query would carry it.
    .replace(/(?<![A-Za-z0-9%])(?=(?:[A-Za-z0-9]|%2[BbFf])*%2[BbFf])(?:[A-Za-z0-9]|%2[BbFf]){40,}(?:%3[Dd]){0,2}/g, '[base64 redacted]');
}

/**
 * Why a response failed its schema: the first three issues by path, never the values, which may
 * be metadata secrets. `root` names the path of the whole body.
 */
export function describeInvalid(error: z.ZodError, root: string): string {
  const issues = error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || root}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return `${issues.join('; ')}${more}`;
}

/** A short, single-line excerpt of a response body for error messages. */
export function excerpt(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function retryAfterSeconds(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Counts API calls by endpoint for the pass summary. */
export class CallCounter {
  readonly counts: Record<string, number> = {};
  record(endpoint: string): void {
    this.counts[endpoint] = (this.counts[endpoint] ?? 0) + 1;
  }
}
