// The MacService REST client (wire-notes.md §6): four POSTs, success only on HTTP 200, every
// answer validated. find and create answers may echo the bot cert and key in lease metadata,
// so their bodies never reach an error message; see describeInvalid() in http.ts.
import type { z } from 'zod';
import { METADATA, ownedHost, taggedHost } from '../fleet';
import { ApiError, describeInvalid, excerpt, postJson, redactKeyMaterial, retryAfterSeconds, type CallCounter, type HttpResponse } from '../http';
import type { FindFilter, LeaseFinder, LeaseList } from '../observe';
import { redactValues } from '../secrets';
import { FindPageReader, NOT_JSON, type FindPage } from './find-page';
import {
  createRequestBody,
  createResponse,
  findRequestBody,
  renewRequestBody,
  renewResponse,
  vacateRequestBody,
  vacateResponse,
  type CreateLeaseRequest,
} from './wire';

export type { CreateLeaseRequest } from './wire';

type MacServiceVerb = 'find' | 'create' | 'renew' | 'vacate';

export interface MacServiceClientOptions {
  /** Base URL ending in '/', e.g. https://macservice-pa.googleapis.com/v1alpha1/. */
  url: string;
  /** Resolved on each call (the secret resolver caches), so building a client reads no secret. */
  apiKey: () => Promise<string>;
  customer: string;
  /** One HTTP request. */
  timeoutMs: number;
  /** Defaults to FIND_MAX_RESPONSE_BYTES. */
  maxFindResponseBytes?: number;
  /**
   * The configured and retired hosts (config/schema.ts ownedSwarmingHosts): leases of these are
   * validated strictly, all others read leniently. Absent: every `makemac/…` tag of the customer.
   */
  ownedHosts?: ReadonlySet<string>;
  calls?: CallCounter;
  /**
   * Scrubs every secret resolved so far from error bodies, before they are cut to an excerpt
   * (a secret cut in half would no longer be recognised). SecretResolver.redact in a pass.
   */
  redact?: (text: string) => string;
}

/** A repeating or endless page token must not hang a pass. */
const MAX_FIND_PAGES = 100;
/**
 * A find answer over 4 MiB is read as it streams (find-page.ts) and only a few fields of each
 * lease are kept, so its size costs time, not memory: 50,000 leases with real-size bot certs and
 * keys are about 200 MB.
 * Beyond this the answer is refused (the observation fails) rather than read on.
 */
const FIND_MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export class MacServiceClient implements LeaseFinder {
  constructor(private readonly options: MacServiceClientOptions) {}

  /**
   * Every lease of the customer, of every project: managed ones with the fields a pass reads,
   * others reduced to their id and tag. A lease of another project that does not parse is
   * skipped (counted); a managed one that does not parse is returned apart, to be left alone.
   */
  async find(filter: FindFilter = {}): Promise<LeaseList> {
    const list: LeaseList = { leases: [], malformed: [], skipped: 0 };
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    for (let page = 1; ; page++) {
      const found = await this.findPage(filter, pageToken);
      list.leases.push(...found.leases);
      list.malformed.push(...found.malformed);
      list.skipped += found.skipped;
      if (found.nextPageToken === '') return list;
      if (seenTokens.has(found.nextPageToken) || page >= MAX_FIND_PAGES) {
        throw new ApiError(`macservice leases:find: pagination did not end after ${page} page(s)`, {
          endpoint: 'macservice leases:find',
          status: 200,
          retryable: false,
          outcomeUnknown: false,
        });
      }
      seenTokens.add(found.nextPageToken);
      pageToken = found.nextPageToken;
    }
  }

  private async findPage(filter: FindFilter, pageToken: string | undefined): Promise<FindPage> {
    const { customer, ownedHosts } = this.options;
    const reader = new FindPageReader(
      (namespace) =>
        ownedHosts ? ownedHost(namespace, customer, ownedHosts) !== null : namespace.customerName === customer && taggedHost(namespace.projectName) !== null,
      filter.except,
    );
    const response = await this.request('find', findRequestBody(this.options.customer, filter.projectName ?? '', pageToken), {
      onBody: (chunk) => reader.write(chunk),
      maxResponseBytes: this.options.maxFindResponseBytes ?? FIND_MAX_RESPONSE_BYTES,
      ...(filter.signal ? { signal: filter.signal } : {}),
    });
    const page = reader.end();
    if (!('problem' in page)) return page;
    const problem =
      page.problem === NOT_JSON
        ? `body is not JSON (${reader.bytesRead} bytes, content-type ${response.headers.get('content-type') ?? 'none'})`
        : page.problem;
    throw invalidAnswer('macservice leases:find', '', problem);
  }

  async create(request: CreateLeaseRequest, signal?: AbortSignal): Promise<{ leaseId: string; expiresAt: number | null }> {
    // The bot cert and key just sent must not come back in an error, whatever shape they have.
    const secrets = request.metadata.filter((m) => m.key === METADATA.cert || m.key === METADATA.key).map((m) => m.value);
    const response = await this.call('create', createRequestBody(this.options.customer, request), createResponse, { secrets, signal });
    return { leaseId: response.pendingLease.leaseId, expiresAt: response.pendingLease.expires };
  }

  /** MacService sets the expiry to now + duration, not old expiry + duration. */
  async renew(leaseId: string, durationSeconds: number, signal?: AbortSignal): Promise<{ expiresAt: number | null }> {
    const response = await this.call('renew', renewRequestBody(leaseId, durationSeconds), renewResponse, { leaseId, signal });
    return { expiresAt: response.expires };
  }

  async vacate(leaseId: string, signal?: AbortSignal): Promise<void> {
    await this.call('vacate', vacateRequestBody(leaseId), vacateResponse, { leaseId, signal });
  }

  private async call<S extends z.ZodType>(
    verb: MacServiceVerb,
    body: string,
    schema: S,
    options: { leaseId?: string; secrets?: readonly string[]; signal?: AbortSignal | undefined } = {},
  ): Promise<z.output<S>> {
    const endpoint = `macservice leases:${verb}`;
    const about = options.leaseId === undefined ? '' : ` (lease ${options.leaseId})`;
    const response = await this.request(verb, body, options);
    let json: unknown;
    let problem: string | null = null;
    try {
      json = JSON.parse(response.body);
    } catch {
      // Not the SyntaxError's text: V8 quotes the body around the error position.
      problem = `body is not JSON (${response.body.length} chars, content-type ${response.headers.get('content-type') ?? 'none'})`;
    }
    if (problem === null) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      problem = describeInvalid(parsed.error, '(root)');
    }
    throw invalidAnswer(endpoint, about, problem);
  }

  /** Sends one call; resolves to its HTTP 200 answer, and throws an ApiError for anything else. */
  private async request(
    verb: MacServiceVerb,
    body: string,
    options: {
      leaseId?: string;
      secrets?: readonly string[];
      onBody?: (chunk: Uint8Array) => boolean;
      maxResponseBytes?: number;
      signal?: AbortSignal | undefined;
    },
  ): Promise<HttpResponse> {
    const endpoint = `macservice leases:${verb}`;
    const about = options.leaseId === undefined ? '' : ` (lease ${options.leaseId})`;
    const apiKey = await this.options.apiKey();
    this.options.calls?.record(`macservice.${verb}`);
    let response: HttpResponse;
    try {
      response = await postJson(`${this.options.url}leases:${verb}`, {
        endpoint,
        headers: { 'Content-Type': 'application/json', 'x-goog-api-key': apiKey },
        body,
        timeoutMs: this.options.timeoutMs,
        ...(options.onBody ? { onBody: options.onBody } : {}),
        ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError) throw new ApiError(`${err.message}${about}`, err.details);
      throw err;
    }

    if (response.status !== 200) {
      const retryable = response.status === 429 || response.status >= 500;
      const text = redact(response.body, this.options.redact, [apiKey, ...(options.secrets ?? [])]);
      throw new ApiError(`${endpoint}: HTTP ${response.status}${about}: ${excerpt(text)}`, {
        endpoint,
        status: response.status,
        retryable,
        // A gateway error (500/502/504) may come after the server applied the call; 429 and 503 refuse it.
        outcomeUnknown: response.status >= 500 && response.status !== 503,
        retryAfterSeconds: retryable ? retryAfterSeconds(response.headers) : undefined,
      });
    }
    return response;
  }
}

/** HTTP 200 said the call was done, but nothing in the answer can be trusted. */
function invalidAnswer(endpoint: string, about: string, problem: string): ApiError {
  return new ApiError(`${endpoint}: invalid 200 response${about}: ${problem}`, {
    endpoint,
    status: 200,
    retryable: false,
    outcomeUnknown: true,
  });
}

/**
 * Error bodies are not expected to carry secrets, but they are server text: drop the known
 * secrets (the API key, a create's cert and key), in any encoding, should a server or proxy
 * ever echo them, then anything else shaped like key material. The resolver's redaction knows
 * them all, as they were resolved through it; without one, they are redacted here.
 */
function redact(text: string, resolverRedact: ((text: string) => string) | undefined, known: readonly string[]): string {
  return redactKeyMaterial(resolverRedact ? resolverRedact(text) : redactValues(text, known));
}
