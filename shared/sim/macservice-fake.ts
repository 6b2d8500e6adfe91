// A loopback MacService (shared/macservice/wire-notes.md §6.8) over a World: the simulator runs on it and the
// client is tested against it. Behaviour the spec marks unknown is chosen as Google APIs
// usually behave: Google-style JSON errors, unknown request fields rejected (so a client that
// sends a stray field fails here first), 404 for an unknown lease. It never paginates `find`.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { formatTimestamp } from '../timestamp';
import { answerAfter } from './response-time';
import type { World, WorldLease } from './world';

export type MacServiceFakeVerb = 'find' | 'create' | 'renew' | 'vacate';

/** `times` defaults to every matching request until clearFaults(). */
export type MacServiceFault =
  | { kind: 'status'; status: number; body?: string; retryAfter?: string; times?: number }
  /** Answer late (then normally), to exercise client timeouts. */
  | { kind: 'delay'; ms: number; times?: number }
  /** HTTP 200 with this body instead of the real answer; the call is not applied. */
  | { kind: 'garbage'; body: string; times?: number }
  /** Apply the call, then cut the connection: the client cannot know it happened. */
  | { kind: 'drop-after-apply'; times?: number };

export interface MacServiceFakeRequest {
  /** `find` etc., or the raw path when it names no verb. */
  verb: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, undefined when it is not JSON. `any` so tests can reach into it freely. */
  body: any;
  /** The body text as sent, so tests can check field order and framing. */
  rawBody: string;
}

export interface MacServiceFake {
  /** Base URL ending in '/', as the client and config take it. */
  url: string;
  requests: MacServiceFakeRequest[];
  inject(verb: MacServiceFakeVerb | '*', fault: MacServiceFault): void;
  clearFaults(): void;
  /** Accepts only `apiKey` from now on, as after a key rotation. */
  rotateApiKey(apiKey: string): void;
  /** Called with each lease `create` adds to the world; the simulator schedules its boot here. */
  onCreate?: (lease: WorldLease) => void;
  close(): Promise<void>;
}

export interface MacServiceFakeOptions {
  world: World;
  apiKey: string;
  /** Whether `find` returns instance metadata. Unknown for the real API; on by default so tests prove the secrets in it never leak. */
  echoMetadata?: boolean;
  /**
   * Refuse a create whose metadata holds a key the images do not read (makemac.created), with
   * 400, as MacService might: whether it accepts extra keys is unverified.
   */
  refuseUnknownMetadata?: boolean;
  /** Names each created lease; randomUUID() by default. The simulator passes a seeded one so a seed replays the same ids. */
  newLeaseId?: () => string;
  /** Loopback port to listen on; any free one by default. */
  port?: number;
  /** Every answer leaves this long after its request arrived (see response-time.ts). */
  responseTimeMs?: number;
}

const PREFIX = '/v1alpha1/leases:';
/** The metadata keys the boot images read (shared/macservice/wire-notes.md §6.3). */
const IMAGE_METADATA_KEYS: ReadonlySet<string> = new Set(['golang.swarming', 'golang.hostname', 'golang.cert', 'golang.key']);
const VERBS: readonly string[] = ['find', 'create', 'renew', 'vacate'] satisfies MacServiceFakeVerb[];

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

// Requests as proto3 JSON accepts them: fields optional, unknown fields an error.
const duration = z.string().regex(/^\d+(?:\.\d{1,9})?s$/, 'must be a duration such as "86400s"');
const namespace = z.strictObject({
  customerName: z.string().min(1),
  projectName: z.string().default(''),
  subCustomerName: z.string().default(''),
});
const requests = {
  find: z.strictObject({ vmResourceNamespace: namespace, pageToken: z.string().optional() }),
  create: z.strictObject({
    vmResourceNamespace: namespace,
    instanceSpecification: z.strictObject({
      profile: z.string().default(''),
      accessLevel: z.string().default(''),
      metadata: z.array(z.strictObject({ key: z.string(), value: z.string() })).default([]),
      diskSelection: z.strictObject({ imageHashes: z.strictObject({ bootSha256: z.string().default('') }).default({ bootSha256: '' }) }).optional(),
    }),
    duration,
  }),
  renew: z.strictObject({ leaseId: z.string().min(1), duration }),
  vacate: z.strictObject({ leaseId: z.string().min(1) }),
};

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: unknown;
}

export async function startMacServiceFake(options: MacServiceFakeOptions): Promise<MacServiceFake> {
  const { world } = options;
  let apiKey = options.apiKey;
  const echoMetadata = options.echoMetadata ?? true;
  const newLeaseId = options.newLeaseId ?? randomUUID;
  const faults: { verb: string; fault: MacServiceFault; left: number }[] = [];

  const takeFault = (verb: string): MacServiceFault | null => {
    const index = faults.findIndex((f) => f.verb === verb || f.verb === '*');
    if (index < 0) return null;
    const entry = faults[index]!;
    if (--entry.left <= 0) faults.splice(index, 1);
    return entry.fault;
  };

  const handlers: Record<MacServiceFakeVerb, (body: unknown) => Reply> = {
    find(body) {
      const { vmResourceNamespace: ns } = parse(requests.find, body);
      const instances = [...world.leases.values()]
        .filter(
          (lease) =>
            lease.customerName === ns.customerName &&
            (ns.projectName === '' || lease.projectName === ns.projectName) &&
            (ns.subCustomerName === '' || lease.subCustomerName === ns.subCustomerName),
        )
        .map((lease) => instanceJson(lease, echoMetadata));
      // proto3 JSON omits an empty repeated field.
      return { status: 200, body: instances.length === 0 ? {} : { instances } };
    },
    create(body) {
      const request = parse(requests.create, body);
      const unknown = request.instanceSpecification.metadata.find((m) => !IMAGE_METADATA_KEYS.has(m.key));
      if (options.refuseUnknownMetadata && unknown) {
        throw new HttpFailure(400, `Invalid value at 'instance_specification.metadata': unknown metadata key "${unknown.key}".`);
      }
      const now = world.now();
      const lease = world.addLease({
        leaseId: newLeaseId(),
        customerName: request.vmResourceNamespace.customerName,
        projectName: request.vmResourceNamespace.projectName,
        subCustomerName: request.vmResourceNamespace.subCustomerName,
        createdAt: now,
        expiresAt: now + durationMs(request.duration),
        image: request.instanceSpecification.diskSelection?.imageHashes.bootSha256 ?? '',
        profile: request.instanceSpecification.profile,
        accessLevel: request.instanceSpecification.accessLevel,
        metadata: request.instanceSpecification.metadata,
      });
      fake.onCreate?.(lease);
      return { status: 200, body: { pendingLease: leaseJson(lease) } };
    },
    renew(body) {
      const request = parse(requests.renew, body);
      const lease = knownLease(world, request.leaseId);
      lease.expiresAt = world.now() + durationMs(request.duration);
      return { status: 200, body: { expires: formatTimestamp(lease.expiresAt) } };
    },
    vacate(body) {
      const request = parse(requests.vacate, body);
      world.leases.delete(knownLease(world, request.leaseId).leaseId);
      return { status: 200, body: {} };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    const path = req.url ?? '';
    const verb = path.startsWith(PREFIX) && VERBS.includes(path.slice(PREFIX.length)) ? (path.slice(PREFIX.length) as MacServiceFakeVerb) : null;
    fake.requests.push({ verb: verb ?? path, headers: req.headers, body: parseJson(text), rawBody: text });
    if (verb === null || req.method !== 'POST') {
      return send(res, googleError(404, `no method ${req.method} ${path}`));
    }

    const fault = takeFault(verb);
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms).unref());
    if (fault?.kind === 'status') {
      const error = googleError(fault.status, 'injected fault');
      const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'Retry-After': fault.retryAfter };
      return fault.body === undefined ? send(res, error, headers) : sendText(res, fault.status, fault.body, headers);
    }
    if (fault?.kind === 'garbage') return sendText(res, 200, fault.body);

    let reply: Reply;
    try {
      if (req.headers['x-goog-api-key'] !== apiKey) {
        throw new HttpFailure(403, 'The request is missing a valid API key.');
      }
      if (!/^application\/json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '')) {
        throw new HttpFailure(400, `Invalid Content-Type; expected application/json`);
      }
      const json = parseJson(text);
      if (json === undefined) throw new HttpFailure(400, 'Invalid JSON payload received.');
      reply = handlers[verb](json);
    } catch (err) {
      if (!(err instanceof HttpFailure)) throw err;
      reply = googleError(err.status, err.message);
    }
    if (fault?.kind === 'drop-after-apply') {
      req.socket.destroy();
      return;
    }
    send(res, reply);
  };

  const server = createServer((req, res) => {
    if (options.responseTimeMs) answerAfter(res, options.responseTimeMs);
    handle(req, res).catch((err: unknown) => send(res, googleError(500, (err as Error).message)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  const fake: MacServiceFake = {
    url: `http://127.0.0.1:${port}/v1alpha1/`,
    requests: [],
    inject(verb, fault) {
      faults.push({ verb, fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults.length = 0;
    },
    rotateApiKey(next) {
      apiKey = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return fake;
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new HttpFailure(400, `Invalid JSON payload received. ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

function knownLease(world: World, leaseId: string): WorldLease {
  const lease = world.leases.get(leaseId);
  if (!lease) throw new HttpFailure(404, `Lease ${leaseId} not found.`);
  return lease;
}

/** "<seconds>s" with up to 9 fractional digits, in ms. */
function durationMs(text: string): number {
  return Math.round(Number(text.slice(0, -1)) * 1000);
}

/** proto3 JSON leaves out empty strings, as the real server would. */
function withoutEmpty(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ''));
}

function leaseJson(lease: WorldLease) {
  return {
    leaseId: lease.leaseId,
    vmResourceNamespace: withoutEmpty({
      customerName: lease.customerName,
      projectName: lease.projectName,
      subCustomerName: lease.subCustomerName,
    }),
    expires: formatTimestamp(lease.expiresAt),
  };
}

function instanceJson(lease: WorldLease, echoMetadata: boolean) {
  return {
    lease: leaseJson(lease),
    instanceSpecification: {
      ...withoutEmpty({ profile: lease.profile, accessLevel: lease.accessLevel }),
      ...(echoMetadata && lease.metadata.length > 0 ? { metadata: lease.metadata } : {}),
      ...(lease.image === '' ? {} : { diskSelection: { imageHashes: { bootSha256: lease.image } } }),
    },
  };
}

function googleError(status: number, message: string): Reply {
  return { status, body: { error: { code: status, message, status: GOOGLE_STATUS[status] ?? 'UNKNOWN' } } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: Reply, headers: Record<string, string> = {}): void {
  res.writeHead(reply.status, { 'Content-Type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(reply.body));
}

function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const contentType = parseJson(body) === undefined ? 'text/html; charset=UTF-8' : 'application/json; charset=UTF-8';
  res.writeHead(status, { 'Content-Type': contentType, ...headers });
  res.end(body);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
