// Lists one Swarming host's Mac bots: swarming.v2.Bots/ListBots over pRPC with JSON, every
// page (wire-notes.md §2, §3). It does not retry; its ApiErrors say whether a retry may help.
import type { GoogleAuth } from 'google-auth-library';
import { isLoopbackUrl } from '../config/schema';
import type { Bot } from '../fleet';
import { ApiError, describeInvalid, excerpt, postJson, redactKeyMaterial, retryAfterSeconds, type CallCounter, type HttpResponse } from '../http';
import type { BotLister } from '../observe';
import {
  botInfoListResponse,
  GRPC_CODE,
  grpcCodeName,
  LIST_BOTS_PATH,
  toBot,
  XSSI_PREFIX,
  type BotInfoListResponse,
} from './wire';

/** Swarming rejects tokens without this scope with 401 (wire-notes.md §5). */
const SWARMING_SCOPE = 'https://www.googleapis.com/auth/userinfo.email';

/** The server refuses a larger limit rather than clamping it. */
/** The largest page ListBots gives (the bench counts its limit in such pages). */
export const MAX_PAGE_LIMIT = 1000;

/**
 * 100,000 bots at full pages, far beyond any Mac pool. A server that keeps handing out fresh
 * cursors (for pages of one bot, say) is cut off here, as well as by the observation deadline.
 */
const MAX_PAGES = 100;

/** The codes of a server, or the path to it, being briefly unwell. */
const RETRYABLE_CODES = new Set<number>([
  GRPC_CODE.UNAVAILABLE,
  GRPC_CODE.DEADLINE_EXCEEDED,
  GRPC_CODE.RESOURCE_EXHAUSTED,
  GRPC_CODE.INTERNAL,
  GRPC_CODE.UNKNOWN,
  GRPC_CODE.ABORTED,
]);

export interface SwarmingClientOptions {
  /** The Swarming host, as errors name it (e.g. `chromium-swarm.appspot.com`). */
  host: string;
  /** Base URL, e.g. `https://chromium-swarm.appspot.com`; http:// only for a loopback fake. */
  url: string;
  pool: string;
  /** Per page request. */
  timeoutMs: number;
  /** Access token source; defaults to Application Default Credentials with SWARMING_SCOPE. */
  getToken?: () => Promise<string>;
  calls?: CallCounter;
  /** Scrubs every secret resolved so far from server text quoted in errors, before it is cut short. */
  redact?: (text: string) => string;
  /** Paging stops with an error beyond this many pages instead of looping forever. */
  maxPages?: number;
  pageLimit?: number;
}

export class SwarmingClient implements BotLister {
  private readonly endpoint: string;
  private readonly listUrl: string;
  private readonly pageLimit: number;
  private readonly maxPages: number;
  private auth: GoogleAuth | undefined;

  constructor(private readonly options: SwarmingClientOptions) {
    this.endpoint = `swarming ${options.host} ListBots`;
    this.listUrl = `${options.url.replace(/\/+$/, '')}${LIST_BOTS_PATH}`;
    this.pageLimit = options.pageLimit ?? MAX_PAGE_LIMIT;
    this.maxPages = options.maxPages ?? MAX_PAGES;
    if (!Number.isInteger(this.pageLimit) || this.pageLimit < 1 || this.pageLimit > MAX_PAGE_LIMIT) {
      throw new RangeError(`${this.endpoint}: pageLimit must be an integer in 1..${MAX_PAGE_LIMIT}, got ${this.pageLimit}`);
    }
  }

  /** All bots with pool=<pool> and os=Mac, dead ones included, in the server's bot id order. */
  async listBots(signal?: AbortSignal): Promise<Bot[]> {
    // A loopback fake needs no token, and there is no reason to hand it one.
    const token = isLoopbackUrl(this.options.url) ? null : await this.accessToken();
    const bots: Bot[] = [];
    const cursors = new Set<string>();
    let cursor = '';
    for (let page = 1; page <= this.maxPages; page++) {
      const response = await this.listPage(cursor, token, signal);
      bots.push(...response.items.map(toBot));
      // A full page always carries a cursor, so the last page may be empty (§2.8).
      if (response.cursor === '') return bots;
      if (cursors.has(response.cursor)) {
        throw this.error(`page ${page} repeated an earlier cursor; the server is not advancing`, { retryable: false });
      }
      cursors.add(response.cursor);
      cursor = response.cursor;
    }
    throw this.error(`still more bots after ${this.maxPages} pages of ${this.pageLimit}; stopped paging`, { retryable: false });
  }

  private async listPage(cursor: string, token: string | null, signal: AbortSignal | undefined): Promise<BotInfoListResponse> {
    const headers: Record<string, string> = {
      // Both are needed for JSON: without them the server speaks binary protobuf (§2.2).
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-Prpc-Grpc-Timeout': encodeGrpcTimeout(this.options.timeoutMs),
      'User-Agent': 'makemac',
    };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    const body = JSON.stringify({
      limit: this.pageLimit,
      ...(cursor === '' ? {} : { cursor }),
      dimensions: [
        { key: 'pool', value: this.options.pool },
        { key: 'os', value: 'Mac' },
      ],
    });
    this.options.calls?.record('swarming.ListBots');
    const response = await postJson(this.listUrl, { endpoint: this.endpoint, headers, body, timeoutMs: this.options.timeoutMs, ...(signal ? { signal } : {}) });
    try {
      return this.readPage(response);
    } catch (err) {
      // Error text quotes the body; should a proxy echo our headers, the token must not leak.
      if (token !== null && err instanceof ApiError && err.message.includes(token)) {
        throw new ApiError(err.message.split(token).join('[token]'), err.details);
      }
      throw err;
    }
  }

  /** Mirrors the Go pRPC client's readStatus (§3.5): the code header decides, not the HTTP status. */
  private readPage(response: HttpResponse): BotInfoListResponse {
    const header = response.headers.get('x-prpc-grpc-code');
    if (header === null) return this.readWithoutCode(response);
    if (!/^\d+$/.test(header.trim())) {
      return this.fail(response, `X-Prpc-Grpc-Code header is not a number: ${JSON.stringify(excerpt(header, 20))}`, true);
    }
    const code = Number(header);
    if (code !== GRPC_CODE.OK) {
      const message = `${grpcCodeName(code)} (HTTP ${response.status}): ${this.bodyText(response)}`;
      return this.fail(response, message, RETRYABLE_CODES.has(code));
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!isJsonMediaType(contentType)) {
      return this.fail(response, `answered OK with Content-Type ${JSON.stringify(excerpt(contentType, 60))}, not JSON`, false);
    }
    return this.decode(response);
  }

  /** No code header: a proxy or Google's front end answered, not the pRPC server (§3.5). */
  private readWithoutCode(response: HttpResponse): BotInfoListResponse {
    // A proxy may drop X-Prpc-* headers; the anti-XSSI prefix still marks a pRPC JSON success.
    if (response.status === 200 && response.body.startsWith(XSSI_PREFIX)) return this.decode(response);
    const mapped = codeForBareStatus(response.status);
    const what = mapped === null ? 'not a pRPC answer' : grpcCodeName(mapped);
    const message = `HTTP ${response.status} without X-Prpc-Grpc-Code (${what}): ${this.bodyText(response)}`;
    return this.fail(response, message, mapped !== null && RETRYABLE_CODES.has(mapped));
  }

  private decode(response: HttpResponse): BotInfoListResponse {
    const text = response.body.startsWith(XSSI_PREFIX) ? response.body.slice(XSSI_PREFIX.length) : response.body;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // Not the SyntaxError's text: V8 quotes the body around the error position, unredacted.
      return this.fail(response, `response is not valid JSON (${text.length} chars): ${this.bodyText(response)}`, false);
    }
    const parsed = botInfoListResponse.safeParse(json);
    if (!parsed.success) return this.fail(response, `unexpected response: ${describeInvalid(parsed.error, '(body)')}`, false);
    return parsed.data;
  }

  private async accessToken(): Promise<string> {
    let token: string | null | undefined;
    try {
      if (this.options.getToken) {
        token = await this.options.getToken();
      } else {
        // Loaded on the first token: a command that never lists bots never pays for the library.
        this.auth ??= new (await import('google-auth-library')).GoogleAuth({ scopes: [SWARMING_SCOPE] });
        token = (await (await this.auth.getClient()).getAccessToken()).token;
      }
    } catch (err) {
      // google-auth-library already retries the metadata server; what is left is configuration.
      throw this.error(`could not get an access token: ${excerpt((err as Error).message)}`, { retryable: false });
    }
    if (!token) throw this.error('the credentials gave no access token', { retryable: false });
    return token;
  }

  private bodyText(response: HttpResponse): string {
    return bodyText(this.options.redact ? { ...response, body: this.options.redact(response.body) } : response);
  }

  private fail(response: HttpResponse, message: string, retryable: boolean): never {
    // Messages quote the server's text; should it ever echo key material, that stays out.
    throw this.error(redactKeyMaterial(message), { status: response.status, retryable, retryAfterSeconds: retryAfterSeconds(response.headers) });
  }

  private error(message: string, details: { status?: number; retryable: boolean; retryAfterSeconds?: number }): ApiError {
    // ListBots only reads, so a failed call never leaves an unknown outcome behind.
    return new ApiError(`${this.endpoint}: ${message}`, { endpoint: this.endpoint, outcomeUnknown: false, ...details });
  }
}

/** The code the Go pRPC client assumes for an HTTP status that came without one; null if none. */
function codeForBareStatus(status: number): number | null {
  if (status === 401) return GRPC_CODE.UNAUTHENTICATED;
  if (status === 403) return GRPC_CODE.PERMISSION_DENIED;
  // Google's front end throttles with a bare 429; the Go client calls it INTERNAL, which it retries too.
  if (status === 429) return GRPC_CODE.RESOURCE_EXHAUSTED;
  if (status === 503) return GRPC_CODE.UNAVAILABLE;
  if (status >= 500) return GRPC_CODE.INTERNAL;
  return null;
}

function isJsonMediaType(contentType: string): boolean {
  const [type = '', ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  return type === 'application/json' || (type === 'application/prpc' && params.includes('encoding=json'));
}

/**
 * One line of the body for an error message: the visible text of an HTML error page (Google's
 * front end sends those), never the whole body.
 */
function bodyText(response: HttpResponse): string {
  let text = response.body;
  if (/html/i.test(response.headers.get('content-type') ?? '') || /^\s*</.test(text)) {
    text = text
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&nbsp;/g, ' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  }
  return excerpt(text) || '(empty body)';
}

/**
 * `X-Prpc-Grpc-Timeout` value: the finest unit whose count fits in 8 digits, rounded up,
 * as luci-go's EncodeTimeout does (90 s → `90000000u`).
 */
export function encodeGrpcTimeout(timeoutMs: number): string {
  const nanos = Math.ceil(timeoutMs * 1e6);
  const units: [string, number][] = [['n', 1], ['u', 1e3], ['m', 1e6], ['S', 1e9], ['M', 60e9]];
  for (const [unit, nanosPerUnit] of units) {
    const count = Math.ceil(nanos / nanosPerUnit);
    if (count <= 99_999_999) return `${count}${unit}`;
  }
  return `${Math.ceil(nanos / 3_600e9)}H`;
}
