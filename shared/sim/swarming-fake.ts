// A loopback stand-in for one Swarming host's ListBots, serving that host's bots from the
// World, faithful to shared/swarming/wire-notes.md so the real client can be tested
// against it. One deliberate gap: it speaks JSON only. Where the real server would answer
// in binary protobuf (no Content-Type; no Accept, `*/*`, or binary winning a tie) it answers
// the protocol error a JSON-only pRPC server gives: 415 or 406, code 3.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { compareStrings } from '../fleet';
import { GRPC_CODE, httpStatusForCode, LIST_BOTS_PATH, protoJsonObject, withDefault, XSSI_PREFIX } from '../swarming/wire';
import { answerAfter } from './response-time';
import type { World, WorldBot } from './world';
import { formatTimestamp } from '../timestamp';

/** Seconds without contact before Swarming marks a bot dead; every ListBots answer reports it. */
export const DEATH_TIMEOUT_SECONDS = 600;
const SERVER_DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export type SwarmingFault = (
  /** Any answer; `grpcCode` undefined leaves out X-Prpc-Grpc-Code, as proxies and Google's front end do. */
  | { kind: 'status'; status: number; body?: string; grpcCode?: number; headers?: Record<string, string> }
  /** Holds the request this long, then answers normally (or per another fault). */
  | { kind: 'delay'; ms: number }
  /** A 200 with pRPC success headers and exactly this body (add the XSSI prefix yourself). */
  | { kind: 'garbage'; body: string }
  /** A successful page with no bots and no cursor. */
  | { kind: 'empty' }
  /** Answers normally except that the cursor always points back at the first page. */
  | { kind: 'repeat-cursor' }
) & {
  /** How many requests it applies to; until clearFaults() when absent. */
  times?: number;
};

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

export interface SwarmingFake {
  /** e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /**
   * Caps every page (and is the default for limit 0) when set; a smaller request limit still
   * wins. Undefined behaves as the real server: limit 0 means 100, any other limit is honoured.
   */
  pageSize: number | undefined;
  inject(fault: SwarmingFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface SwarmingFakeOptions {
  world: World;
  /** The Swarming host whose bots (world.hostBots(host)) this server lists. */
  host: string;
  pageSize?: number;
  /** Treat a request without `Authorization` as anonymous, which the pool ACL refuses (403, code 7). */
  requireToken?: boolean;
  /** Loopback port to listen on; any free one by default. */
  port?: number;
  /** Every answer leaves this long after its request arrived (see response-time.ts). */
  responseTimeMs?: number;
}

export async function startSwarmingFake(options: SwarmingFakeOptions): Promise<SwarmingFake> {
  const fake = new FakeSwarmingServer(options);
  await fake.listen();
  return fake;
}

/** A pRPC error: `status` is set only for protocol errors, which keep their own HTTP status. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const invalid = (message: string, status?: number) => new RpcError(GRPC_CODE.INVALID_ARGUMENT, message, status);

/** What the Go pRPC server sends instead of the message of a service error with HTTP status ≥500. */
const HIDDEN_MESSAGES: Record<number, string> = {
  [GRPC_CODE.INTERNAL]: 'Internal server error',
  [GRPC_CODE.UNKNOWN]: 'Unknown server error',
  [GRPC_CODE.UNAVAILABLE]: 'Service unavailable',
  [GRPC_CODE.DEADLINE_EXCEEDED]: 'Request deadline exceeded',
  [GRPC_CODE.UNIMPLEMENTED]: 'API method not implemented by the server',
  [GRPC_CODE.DATA_LOSS]: 'Unrecoverable data loss or data corruption',
};

/** The message a client sees for a service error. */
function publicMessage(code: number, message: string): string {
  return httpStatusForCode(code) >= 500 ? (HIDDEN_MESSAGES[code] ?? 'Server error') : message;
}

class FakeSwarmingServer implements SwarmingFake {
  url = '';
  readonly requests: RecordedRequest[] = [];
  pageSize: number | undefined;
  private faults: { fault: SwarmingFault; remaining: number }[] = [];
  private readonly server = http.createServer((req, res) => {
    if (this.options.responseTimeMs) answerAfter(res, this.options.responseTimeMs);
    this.handle(req, res).catch(() => {
      // Closing cuts delayed requests short; their sockets are gone.
      if (!res.headersSent && !this.closing.signal.aborted) sendError(res, new RpcError(GRPC_CODE.INTERNAL, 'fake failed'));
    });
  });
  private readonly closing = new AbortController();

  constructor(private readonly options: SwarmingFakeOptions) {
    this.pageSize = options.pageSize;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  inject(fault: SwarmingFault): void {
    this.faults.push({ fault, remaining: fault.times ?? Infinity });
  }

  clearFaults(): void {
    this.faults = [];
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body: recordedBody(body) });

    const fault = await this.takeFaults();
    if (fault?.kind === 'status') return sendStatusFault(res, fault);
    if (fault?.kind === 'garbage') return sendSuccessBody(res, fault.body);
    if (fault?.kind === 'empty') return sendSuccess(res, { now: formatTimestamp(this.options.world.now()), deathTimeout: DEATH_TIMEOUT_SECONDS });

    // The Go server's router: only /prpc/<service>/<method>, and only POST on it.
    if (!path.startsWith('/prpc/')) return sendPlain(res, 404, '404 page not found\n');
    if (req.method !== 'POST') return sendPlain(res, 405, 'Method Not Allowed\n');
    try {
      if (path !== LIST_BOTS_PATH) throw new RpcError(GRPC_CODE.UNIMPLEMENTED, `method not implemented: ${path}`);
      sendSuccess(res, this.listBots(req.headers, body, fault?.kind === 'repeat-cursor'));
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      sendError(res, err);
    }
  }

  /** Sleeps through every delay fault, then returns the first answering fault, if any. */
  private async takeFaults(): Promise<SwarmingFault | null> {
    let answer: SwarmingFault | null = null;
    let delayMs = 0;
    for (const entry of this.faults) {
      if (entry.fault.kind === 'delay') delayMs += entry.fault.ms;
      else if (answer === null) answer = entry.fault;
      else continue;
      entry.remaining -= 1;
    }
    this.faults = this.faults.filter((entry) => entry.remaining > 0);
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: this.closing.signal });
    return answer;
  }

  /** §3.6 steps 2–7, in the real server's order: headers, auth, body, validation, ACL, query. */
  private listBots(headers: http.IncomingHttpHeaders, body: string, rewindCursor: boolean): object {
    checkTimeoutHeader(headerValue(headers['x-prpc-grpc-timeout']));
    checkContentType(headers['content-type']);
    checkAccept(headers.accept);
    const caller = callerOf(headers.authorization);
    const request = decodeRequest(body);
    if (request.limit < 0) throw invalid(`invalid limit: must be positive, got ${request.limit}`);
    if (request.limit > MAX_LIMIT) throw invalid(`invalid limit: must be less or equal to ${MAX_LIMIT}, got ${request.limit}`);
    const after = request.cursor === '' ? null : decodeCursor(request.cursor);
    const predicates = request.dimensions.map(parsePredicate);
    if (caller === null && this.options.requireToken) throw permissionDenied(predicates);

    const limit = request.limit === 0 ? (this.pageSize ?? SERVER_DEFAULT_LIMIT) : Math.min(request.limit, this.pageSize ?? Infinity);
    const matching = [...this.options.world.hostBots(this.options.host).values()]
      .filter((bot) => predicates.every((predicate) => matchesPredicate(bot, predicate)) && matchesStates(bot, request))
      .sort((a, b) => compareStrings(a.botId, b.botId))
      .filter((bot) => after === null || compareStrings(bot.botId, after) > 0);
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    // Like the real server, a full page carries a cursor even when nothing follows it (§2.8).
    // The rewind cursor names "\u0000", which sorts before every bot id: it leads to page one.
    const cursor = rewindCursor ? encodeCursor('\u0000') : page.length === limit && last ? encodeCursor(last.botId) : '';
    return withoutDefaults({
      cursor,
      items: page.map(botInfoJson),
      now: formatTimestamp(this.options.world.now()),
      deathTimeout: DEATH_TIMEOUT_SECONDS,
    });
  }
}

function recordedBody(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function checkTimeoutHeader(value: string | undefined): void {
  if (value !== undefined && !/^\d{1,8}[HMSmun]$/.test(value)) {
    throw invalid(`bad X-Prpc-Grpc-Timeout header: ${JSON.stringify(value)}`, 400);
  }
}

type Format = 'binary' | 'json' | 'text';
/** Tie-break order when Accept gives several formats the same quality: binary first. */
const FORMAT_PREFERENCE: Format[] = ['binary', 'json', 'text'];

/** grpc/prpc/format.go: which encoding a media type names, or an error message. */
function formatOf(mediaType: string, params: Map<string, string>): Format | string {
  switch (mediaType) {
    case 'application/json':
      return 'json';
    case '':
    case '*/*':
    case 'application/*':
    case 'application/grpc':
      return 'binary';
    case 'application/prpc': {
      const unexpected = [...params.keys()].find((key) => key !== 'encoding');
      if (unexpected !== undefined) return `unexpected parameter ${JSON.stringify(unexpected)}`;
      const encoding = params.get('encoding') ?? '';
      if (encoding === '' || encoding === 'binary') return 'binary';
      if (encoding === 'json' || encoding === 'text') return encoding;
      return `invalid encoding parameter: ${JSON.stringify(encoding)}. Valid values: "binary", "json", "text"`;
    }
    default:
      return `unknown content type: ${JSON.stringify(mediaType)}`;
  }
}

function parseMediaType(text: string): { mediaType: string; params: Map<string, string> } | string {
  const [head = '', ...rest] = text.split(';');
  const mediaType = head.trim().toLowerCase();
  if (!/^[\w.+-]+\/[\w.+*-]+$/.test(mediaType) && mediaType !== '*/*') return 'no media type';
  const params = new Map<string, string>();
  for (const param of rest) {
    const match = /^\s*([\w.+-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(param);
    if (!match) return 'invalid media parameter';
    params.set(match[1]!.toLowerCase(), match[2]!);
  }
  return { mediaType, params };
}

function checkContentType(value: string | undefined): void {
  const parsed = parseMediaType(value ?? '');
  const format = value === undefined || value === '' ? 'binary' : typeof parsed === 'string' ? parsed : formatOf(parsed.mediaType, parsed.params);
  if (format === 'json') return;
  const reason = format === 'binary' || format === 'text' ? `this fake reads JSON only, not ${format} protobuf` : format;
  throw invalid(`bad Content-Type header: ${reason}`, 415);
}

function checkAccept(value: string | undefined): void {
  // No Accept at all means binary, like `*/*`.
  let best: { format: Format; quality: number } = { format: 'binary', quality: 1 };
  if (value !== undefined && value.trim() !== '') {
    let found: typeof best | null = null;
    for (const item of value.split(',')) {
      const parsed = parseMediaType(item);
      if (typeof parsed === 'string') throw invalid(`bad Accept header: ${parsed}`, 406);
      const quality = Number(parsed.params.get('q') ?? 1);
      if (Number.isNaN(quality)) throw invalid('bad Accept header: q parameter: expected a floating-point number', 406);
      parsed.params.delete('q');
      const format = formatOf(parsed.mediaType, parsed.params);
      // Types the server cannot produce are skipped, as in a browser's Accept list.
      if (format !== 'binary' && format !== 'json' && format !== 'text') continue;
      const preferred = FORMAT_PREFERENCE.indexOf(format) < FORMAT_PREFERENCE.indexOf(found?.format ?? 'text');
      if (found === null || quality > found.quality || (quality === found.quality && preferred)) found = { format, quality };
    }
    if (found === null) throw invalid(`bad Accept header: no supported media type in ${JSON.stringify(value)}`, 406);
    best = found;
  }
  if (best.format !== 'json') throw invalid(`bad Accept header: this fake answers JSON only, not ${best.format} protobuf`, 406);
}

/** The caller's identity, null when anonymous. Any well-formed bearer token is accepted. */
function callerOf(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const match = /^(\S+)\s+(\S+)$/.exec(authorization.trim());
  if (!match || !['bearer', 'oauth'].includes(match[1]!.toLowerCase())) {
    throw new RpcError(GRPC_CODE.UNAUTHENTICATED, 'oauth: bad Authorization header');
  }
  return 'user:fake-caller@example.com';
}

/** A NullableBool filter: null when unset; an unknown enum name is dropped to unset, as protojson does. */
const nullableBool = z.union([z.string(), z.number().int()]).nullish().transform((value) => {
  if (value === 'TRUE' || value === 2) return true;
  if (value === 'FALSE' || value === 1) return false;
  return null;
});

const int32 = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)])
  .refine((n) => n >= -(2 ** 31) && n < 2 ** 31, 'out of int32 range');

const botsRequest = protoJsonObject({
  limit: withDefault(int32, 0),
  cursor: withDefault(z.string(), ''),
  dimensions: withDefault(
    z.array(protoJsonObject({ key: withDefault(z.string(), ''), value: withDefault(z.string(), '') })),
    [],
  ),
  quarantined: nullableBool,
  inMaintenance: nullableBool,
  isDead: nullableBool,
  isBusy: nullableBool,
});

type BotsRequest = z.output<typeof botsRequest>;

function decodeRequest(body: string): BotsRequest {
  // protojson rejects an empty document, so an empty body is an error rather than `{}`.
  if (body.trim() === '') throw invalid('could not decode body: unexpected EOF', 400);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw invalid(`could not decode body: ${(err as Error).message}`, 400);
  }
  const parsed = botsRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`could not decode body: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, 400);
  }
  return parsed.data;
}

/** The fake's cursor is the last bot id listed, base64url without padding; the real one is opaque too. */
function encodeCursor(botId: string): string {
  return Buffer.from(botId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const botId = Buffer.from(cursor, 'base64url').toString('utf8');
  // Buffer decoding skips junk silently; only a cursor that re-encodes to itself is ours.
  if (botId === '' || encodeCursor(botId) !== cursor) throw invalid('bad pagination cursor');
  return botId;
}

interface Predicate {
  key: string;
  /** The `|`-separated alternatives; any one matches. */
  values: string[];
}

const DIMENSION_KEY = /^[a-zA-Z\-_.][0-9a-zA-Z\-_.]*$/;

/** model/filters.go validation (§2.7). */
function parsePredicate({ key, value }: { key: string; value: string }): Predicate {
  const badKey = (why: string) => invalid(`invalid dimensions: bad key ${JSON.stringify(key)}: ${why}`);
  if (key === '') throw badKey('the key cannot be empty');
  if (Buffer.byteLength(key) > 64) throw badKey('the key should be no longer than 64 bytes');
  if (!DIMENSION_KEY.test(key)) throw badKey(`the key should match ${DIMENSION_KEY.source}`);
  const values = value.split('|');
  for (const alternative of values) {
    const badValue = (why: string) => invalid(`invalid dimensions: bad value ${JSON.stringify(alternative)} for key ${JSON.stringify(key)}: ${why}`);
    if (alternative === '') throw badValue('the value cannot be empty');
    if (Buffer.byteLength(alternative) > 256) throw badValue('the value should be no longer than 256 bytes');
    if (alternative.trim() !== alternative) throw badValue('the value should have no leading or trailing spaces');
  }
  return { key, values };
}

function permissionDenied(predicates: Predicate[]): RpcError {
  const pool = predicates.find((predicate) => predicate.key === 'pool')?.values[0];
  const message =
    pool === undefined
      ? `the caller "anonymous:anonymous" doesn't have server-level permission "swarming.pools.listBots"`
      : `the caller "anonymous:anonymous" doesn't have permission "swarming.pools.listBots" in the pool ${JSON.stringify(pool)} or the pool doesn't exist`;
  return new RpcError(GRPC_CODE.PERMISSION_DENIED, message);
}

/** Dimensions are multi-valued: a bot matches when any of its values is an allowed one. */
function matchesPredicate(bot: WorldBot, predicate: Predicate): boolean {
  const values = bot.dimensions.find((dimension) => dimension.key === predicate.key)?.value ?? [];
  return values.some((value) => predicate.values.includes(value));
}

function matchesStates(bot: WorldBot, request: BotsRequest): boolean {
  const states: [boolean | null, boolean][] = [
    [request.isDead, bot.isDead],
    [request.quarantined, bot.quarantined],
    [request.inMaintenance, bot.maintenanceMsg !== ''],
    [request.isBusy, bot.taskId !== ''],
  ];
  return states.every(([wanted, actual]) => wanted === null || wanted === actual);
}

function botInfoJson(bot: WorldBot): object {
  return withoutDefaults({
    botId: bot.botId,
    taskId: bot.taskId,
    firstSeenTs: formatTimestamp(bot.firstSeenAt),
    isDead: bot.isDead,
    lastSeenTs: formatTimestamp(bot.lastSeenAt),
    quarantined: bot.quarantined,
    maintenanceMsg: bot.maintenanceMsg,
    dimensions: bot.dimensions,
    taskName: bot.taskName,
    // A JSON document inside a JSON string, as the real server sends the bot's state dict.
    state: JSON.stringify({
      ...(bot.quarantined ? { quarantined: true } : {}),
      ...(bot.maintenanceMsg !== '' ? { maintenance: bot.maintenanceMsg } : {}),
    }),
  });
}

/** protojson leaves out fields at their proto3 default: false, '', 0 and empty lists. */
function withoutDefaults(fields: Record<string, unknown>): object {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== false && value !== '' && value !== 0 && !(Array.isArray(value) && value.length === 0)),
  );
}

function sendSuccess(res: http.ServerResponse, message: object): void {
  sendSuccessBody(res, `${XSSI_PREFIX}${JSON.stringify(message)}\n`);
}

function sendSuccessBody(res: http.ServerResponse, body: string): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'X-Prpc-Grpc-Code': String(GRPC_CODE.OK),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

function sendError(res: http.ServerResponse, err: RpcError): void {
  const status = err.status ?? httpStatusForCode(err.code);
  // Protocol errors keep their message; service errors at ≥500 hide it (§3.4).
  const message = err.status === undefined ? publicMessage(err.code, err.message) : err.message;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Prpc-Grpc-Code': String(err.code),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(`${message}\n`);
}

function sendPlain(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function sendStatusFault(res: http.ServerResponse, fault: Extract<SwarmingFault, { kind: 'status' }>): void {
  const body =
    fault.body ??
    (fault.grpcCode === undefined
      ? `${fault.status} ${http.STATUS_CODES[fault.status] ?? ''}\n`
      : `${publicMessage(fault.grpcCode, 'injected fault')}\n`);
  res.writeHead(fault.status, {
    'Content-Type': /^\s*</.test(body) ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    ...(fault.grpcCode === undefined ? {} : { 'X-Prpc-Grpc-Code': String(fault.grpcCode) }),
    ...fault.headers,
  });
  res.end(body);
}
