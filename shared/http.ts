// The one place makemac sends HTTP. Both API clients go through postJson so timeouts,
// body-size caps and the error shape are the same everywhere.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/** A response's headers by lower-case name; several of one name joined with ", ". */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
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
   * returns false to stop reading. Other statuses' bodies are kept, up to ERROR_BODY_BYTES, for
   * the error message.
   */
  onBody?: (chunk: Uint8Array) => boolean;
  /** Cancels the request (the observation's deadline, a SIGTERM's grace); its reason says why. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Of an answer other than 200, only this much is read: enough for any error message. */
export const ERROR_BODY_BYTES = 64 * 1024;

// node:http rather than fetch: a pass makes hundreds of small calls, and fetch's cold start and
// per-call cost (undici, web streams) were a third of a 1,000-lease pass (README, performance).
// Connections are kept for the calls that follow; idle ones do not keep the process alive, and
// are closed after IDLE_CONNECTION_MS (as fetch did), so a pass of a function instance that slept
// since the last one does not send on a connection the server has long dropped.
const IDLE_CONNECTION_MS = 4_000;
const agents = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }),
};

export async function postJson(url: string, options: PostOptions): Promise<HttpResponse> {
  const { endpoint, timeoutMs } = options;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal;
  try {
    // Given up on before it was sent: it cannot have reached the server.
    if (options.signal?.aborted) throw cancelled(endpoint, options.signal, false);
    let response: IncomingMessage;
    try {
      response = await send(new URL(url), options, signal);
    } catch (err) {
      if (options.signal?.aborted) throw cancelled(endpoint, options.signal);
      if (abort.signal.aborted) {
        throw new ApiError(`${endpoint}: no response within ${timeoutMs}ms`, {
          endpoint,
          retryable: true,
          outcomeUnknown: true,
        });
      }
      const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      // A refused connection never reached the server; anything else may have.
      const refused = cause === 'ECONNREFUSED' || cause === 'ENOTFOUND' || cause === 'EAI_AGAIN';
      throw new ApiError(`${endpoint}: connection failed (${cause})`, {
        endpoint,
        retryable: true,
        outcomeUnknown: !refused,
      });
    }
    const status = response.statusCode ?? 0;
    let body: string;
    try {
      if (status === 200) body = await readCapped(response, maxBytes, endpoint, abort.signal, timeoutMs, options.onBody);
      else body = await readErrorBody(response, maxBytes, endpoint, abort.signal, timeoutMs);
    } catch (err) {
      if (options.signal?.aborted) throw cancelled(endpoint, options.signal);
      throw err;
    }
    return { status, headers: headersOf(response), body };
  } finally {
    clearTimeout(timer);
  }
}

/** Sends the request; resolves once the response's status and headers are in. */
function send(url: URL, options: PostOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
  if (url.protocol !== protocol) return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  const request = protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(options.body, 'utf8');
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      agent: agents[protocol],
      headers: { ...options.headers, 'Content-Length': String(body.byteLength) },
      signal,
    });
    outgoing.once('response', resolve);
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function headersOf(response: IncomingMessage): ResponseHeaders {
  return {
    get(name) {
      const value = response.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** A request makemac gave up on: it may have reached the server, and is not worth repeating. */
function cancelled(endpoint: string, signal: AbortSignal, sent = true): ApiError {
  return new ApiError(`${endpoint}: cancelled: ${reasonOf(signal)}`, { endpoint, retryable: false, outcomeUnknown: sent });
}

/** Why a signal was aborted, as text. */
export function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
}

async function readCapped(
  response: IncomingMessage,
  maxBytes: number,
  endpoint: string,
  signal: AbortSignal,
  timeoutMs: number,
  sink?: (chunk: Uint8Array) => boolean,
): Promise<string> {
  const status = response.statusCode ?? 0;
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.destroy();
    throw tooLarge(endpoint, status, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        response.destroy();
        throw tooLarge(endpoint, status, maxBytes);
      }
      if (!sink) chunks.push(chunk);
      else if (!sink(chunk)) {
        response.destroy();
        break;
      }
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(
      signal.aborted
        ? `${endpoint}: response body not complete within ${timeoutMs}ms`
        : `${endpoint}: response body cut off (${(err as Error).message})`,
      { endpoint, status, retryable: true, outcomeUnknown: true },
    );
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The start of a failed call's answer, which only ever makes an error message: an endless or
 * huge error page (a proxy's, say) is not read, nor held, beyond ERROR_BODY_BYTES.
 */
async function readErrorBody(response: IncomingMessage, maxBytes: number, endpoint: string, signal: AbortSignal, timeoutMs: number): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  await readCapped(response, maxBytes, endpoint, signal, timeoutMs, (chunk) => {
    kept.push(Buffer.from(chunk));
    size += chunk.byteLength;
    return size < ERROR_BODY_BYTES;
  });
  return Buffer.concat(kept).subarray(0, ERROR_BODY_BYTES).toString('utf8');
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

export function retryAfterSeconds(headers: ResponseHeaders): number | undefined {
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
