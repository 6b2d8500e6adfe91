// MacService's JSON, both ways (wire-notes.md §6). Responses are decoded as leniently as Go's
// encoding/json did — unknown fields ignored, absent or null fields take zero values — with one
// exception Go also made: a timestamp that is present but unparsable fails the whole response.
import { z } from 'zod';
import type { Lease } from '../fleet';
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

export const findResponse = z.object({
  instances: z.array(instance).nullish().transform((list) => list ?? []),
  /** Not known to exist (wire-notes.md §6.6); followed if it ever appears. */
  nextPageToken: text,
});

export const createResponse = z.object({
  pendingLease: z.object({ leaseId: z.string().min(1), expires }),
});

export const renewResponse = z.object({ expires });

/** Go decoded vacate's answer into an empty struct, so it must still be a JSON object. */
export const vacateResponse = z.object({});

type Instance = z.output<typeof findResponse>['instances'][number];

export function toLease(item: Instance): Lease {
  const spec = item.instanceSpecification;
  // fromEntries defines own properties, so even a key named __proto__ stays plain data.
  const metadata: Record<string, string> = Object.fromEntries((spec?.metadata ?? []).map((entry) => [entry.key, entry.value]));
  return {
    leaseId: item.lease.leaseId,
    customerName: item.lease.vmResourceNamespace.customerName,
    projectName: item.lease.vmResourceNamespace.projectName,
    expiresAt: item.lease.expires,
    image: spec?.diskSelection?.imageHashes?.bootSha256 ?? '',
    metadata,
  };
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

export function findRequestBody(customer: string, pageToken?: string): string {
  const request: Record<string, unknown> = { vmResourceNamespace: namespaceBody(customer, '') };
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
