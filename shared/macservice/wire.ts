// MacService's JSON, both ways (wire-notes.md §6). Responses are decoded as leniently as Go's
// encoding/json did — unknown fields ignored, absent or null fields take zero values — with one
// exception Go also made: a timestamp that is present but unparsable fails the response, or, in
// `find`, the one lease it belongs to.
import { z } from 'zod';
import { METADATA, type Lease } from '../fleet';
import { describeInvalid } from '../http';
import { parseTimestamp } from '../timestamp';

/** proto3 JSON Duration, e.g. "86400s". */
function protoDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new RangeError(`lease duration must be whole seconds > 0, got ${seconds}`);
  return `${seconds}s`;
}

// ---- Responses --------------------------------------------------------------------------------

/** A string field as Go decodes it: absent or null is "". */
const text = z.string().nullish().transform((value) => value ?? '');

/** Absent or null is Go's zero time, which makemac treats as long expired; "" or garbage is an error. */
const expires = z
  .string()
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined) return null;
    const ms = parseTimestamp(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: 'not an RFC 3339 timestamp' });
      return z.NEVER;
    }
    return ms;
  });

const namespace = z.object({
  customerName: z.string(),
  projectName: text,
  subCustomerName: text,
});

const leaseWire = z.object({
  leaseId: z.string().min(1),
  vmResourceNamespace: namespace,
  expires,
});

const metadataEntry = z.object({ key: text, value: text });

const instanceSpecification = z.object({
  profile: text,
  accessLevel: text,
  metadata: z.array(metadataEntry).nullish(),
  diskSelection: z.object({ imageHashes: z.object({ bootSha256: text }).nullish() }).nullish(),
});

const instance = z.object({
  lease: leaseWire,
  instanceSpecification: instanceSpecification.nullish(),
});

export const createResponse = z.object({
  pendingLease: z.object({ leaseId: z.string().min(1), expires }),
});

export const renewResponse = z.object({ expires });

/** Go decoded vacate's answer into an empty struct, so it must still be a JSON object. */
export const vacateResponse = z.object({});

type Instance = z.output<typeof instance>;

/**
 * The only metadata keys a pass reads (group attribution and age, fleet.ts). The rest, the bot
 * cert and key among them, is dropped as each lease is read: it is never kept, so never leaked.
 */
const KEPT_METADATA: ReadonlySet<string> = new Set([METADATA.hostname, METADATA.created]);

function toLease(item: Instance): Lease {
  const spec = item.instanceSpecification;
  // fromEntries defines own properties, so even a key named __proto__ stays plain data.
  const metadata: Record<string, string> = Object.fromEntries(
    (spec?.metadata ?? []).filter((entry) => KEPT_METADATA.has(entry.key)).map((entry) => [entry.key, entry.value]),
  );
  return {
    leaseId: item.lease.leaseId,
    customerName: item.lease.vmResourceNamespace.customerName,
    projectName: item.lease.vmResourceNamespace.projectName,
    expiresAt: item.lease.expires,
    image: spec?.diskSelection?.imageHashes?.bootSha256 ?? '',
    metadata,
  };
}

/** Of another project's lease only what tells it apart: its id and tag. */
const foreignInstance = z.object({
  lease: z.object({ leaseId: z.string().min(1), vmResourceNamespace: z.object({ customerName: text, projectName: text }) }),
});

/** A managed lease whose instance did not validate: it is left alone this pass. */
export interface MalformedLease {
  /** '' when the id itself is missing or not a string. */
  leaseId: string;
  projectName: string;
  /** Epoch ms when `expires` still parses, else null. */
  expiresAt: number | null;
  /** The paths that failed, never their values (metadata may hold secrets). */
  problem: string;
}

type InstanceReading =
  | { kind: 'lease'; lease: Lease }
  | { kind: 'malformed'; lease: MalformedLease }
  /** Not ours and not readable: skipped, and counted. */
  | { kind: 'skipped' };

/** Whether a lease of this namespace is makemac's own (fleet.ts ownedHost). */
export type IsOwned = (namespace: { customerName: string; projectName: string }) => boolean;

/**
 * One element of `instances`. A managed lease is validated strictly, since makemac acts on it;
 * any other lease is read leniently, only for its id and tag, so that one odd lease of another
 * project cannot stop every pass.
 */
export function readInstance(value: unknown, isOwned: IsOwned): InstanceReading {
  const lease = field(value, 'lease');
  const namespace = field(lease, 'vmResourceNamespace');
  const customerName = field(namespace, 'customerName');
  const projectName = field(namespace, 'projectName');
  if (typeof customerName === 'string' && typeof projectName === 'string' && isOwned({ customerName, projectName })) {
    const parsed = instance.safeParse(value);
    if (parsed.success) return { kind: 'lease', lease: toLease(parsed.data) };
    const leaseId = field(lease, 'leaseId');
    const expiresText = field(lease, 'expires');
    return {
      kind: 'malformed',
      lease: {
        leaseId: typeof leaseId === 'string' ? leaseId : '',
        projectName,
        expiresAt: typeof expiresText === 'string' ? parseTimestamp(expiresText) : null,
        problem: describeInvalid(parsed.error, '(instance)'),
      },
    };
  }
  const parsed = foreignInstance.safeParse(value);
  if (!parsed.success) return { kind: 'skipped' };
  const { leaseId, vmResourceNamespace } = parsed.data.lease;
  return {
    kind: 'lease',
    lease: { leaseId, customerName: vmResourceNamespace.customerName, projectName: vmResourceNamespace.projectName, expiresAt: null, image: '', metadata: {} },
  };
}

/** An own property of an object, else undefined. */
function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

// ---- Requests ---------------------------------------------------------------------------------
// Go sent every declared field (no omitempty), empty strings included, and a trailing newline.

export interface MetadataEntry {
  key: string;
  value: string;
}

export interface CreateLeaseRequest {
  /** `makemac/<swarming host>`: the ownership tag. */
  projectName: string;
  /** Boot image SHA-256. */
  image: string;
  profile: string;
  accessLevel: string;
  durationSeconds: number;
  /** Sent in the given order: the contract's golang.swarming, golang.hostname, golang.cert, golang.key, makemac.created. */
  metadata: MetadataEntry[];
}

function body(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function namespaceBody(customerName: string, projectName: string) {
  return { customerName, projectName, subCustomerName: '' };
}

/** An empty projectName asks for the leases of every project of the customer. */
export function findRequestBody(customer: string, projectName: string, pageToken?: string): string {
  const request: Record<string, unknown> = { vmResourceNamespace: namespaceBody(customer, projectName) };
  if (pageToken !== undefined) request.pageToken = pageToken;
  return body(request);
}

export function createRequestBody(customer: string, request: CreateLeaseRequest): string {
  return body({
    vmResourceNamespace: namespaceBody(customer, request.projectName),
    instanceSpecification: {
      profile: request.profile,
      accessLevel: request.accessLevel,
      metadata: request.metadata.map(({ key, value }) => ({ key, value })),
      diskSelection: { imageHashes: { bootSha256: request.image } },
    },
    duration: protoDuration(request.durationSeconds),
  });
}

export function renewRequestBody(leaseId: string, durationSeconds: number): string {
  return body({ leaseId, duration: protoDuration(durationSeconds) });
}

export function vacateRequestBody(leaseId: string): string {
  return body({ leaseId });
}
