// The MacService REST client (wire-notes.md §6): four POSTs, success only on HTTP 200, every
// answer validated. find and create answers may echo the bot cert and key in lease metadata,
// so their bodies never reach an error message; see describeInvalid() in http.ts.
import type { z } from 'zod';
import { METADATA, type Lease } from '../fleet';
import { ApiError, describeInvalid, excerpt, postJson, redactKeyMaterial, retryAfterSeconds, type CallCounter, type HttpResponse } from '../http';
import type { LeaseFinder } from '../observe';
import {
  createRequestBody,
  createResponse,
  findRequestBody,
  findResponse,
  renewRequestBody,
  renewResponse,
  toLease,
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
  calls?: CallCounter;
}

/** A repeating or endless page token must not hang a pass. */
const MAX_FIND_PAGES = 100;

export class MacServiceClient implements LeaseFinder {
  constructor(private readonly options: MacServiceClientOptions) {}

  /** Every lease of the customer, of every project: unmanaged ones are filtered later. */
  async find(): Promise<Lease[]> {
    const leases: Lease[] = [];
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    for (let page = 1; ; page++) {
      const response = await this.call('find', findRequestBody(this.options.customer, pageToken), findResponse);
      leases.push(...response.instances.map(toLease));
      if (response.nextPageToken === '') return leases;
      if (seenTokens.has(response.nextPageToken) || page >= MAX_FIND_PAGES) {
        throw new ApiError(`macservice leases:find: pagination did not end after ${page} page(s)`, {
          endpoint: 'macservice leases:find',
          status: 200,
          retryable: false,
          outcomeUnknown: false,
        });
      }
      seenTokens.add(response.nextPageToken);
      pageToken = response.nextPageToken;
    }
  }

  async create(request: CreateLeaseRequest): Promise<{ leaseId: string; expiresAt: number | null }> {
    // The bot cert and key just sent must not come back in an error, whatever shape they have.
    const secrets = request.metadata.filter((m) => m.key === METADATA.cert || m.key === METADATA.key).map((m) => m.value);
    const response = await this.call('create', createRequestBody(this.options.customer, request), createResponse, undefined, secrets);
    return { leaseId: response.pendingLease.leaseId, expiresAt: response.pendingLease.expires };
  }

  /** MacService sets the expiry to now + duration, not old expiry + duration. */
  async renew(leaseId: string, durationSeconds: number): Promise<{ expiresAt: number | null }> {
    const response = await this.call('renew', renewRequestBody(leaseId, durationSeconds), renewResponse, leaseId);
    return { expiresAt: response.expires };
  }

  async vacate(leaseId: string): Promise<void> {
    await this.call('vacate', vacateRequestBody(leaseId), vacateResponse, leaseId);
  }

  private async call<S extends z.ZodType>(
    verb: MacServiceVerb,
    body: string,
    schema: S,
    leaseId?: string,
    secrets: readonly string[] = [],
  ): Promise<z.output<S>> {
    const endpoint = `macservice leases:${verb}`;
    const about = leaseId === undefined ? '' : ` (lease ${leaseId})`;
    const apiKey = await this.options.apiKey();
    this.options.calls?.record(`macservice.${verb}`);
    let response: HttpResponse;
    try {
      response = await postJson(`${this.options.url}leases:${verb}`, {
        endpoint,
        headers: { 'Content-Type': 'application/json', 'x-goog-api-key': apiKey },
        body,
        timeoutMs: this.options.timeoutMs,
      });
    } catch (err) {
      if (err instanceof ApiError) throw new ApiError(`${err.message}${about}`, err.details);
      throw err;
    }

    if (response.status !== 200) {
      const retryable = response.status === 429 || response.status >= 500;
      throw new ApiError(`${endpoint}: HTTP ${response.status}${about}: ${excerpt(redact(response.body, apiKey, secrets))}`, {
        endpoint,
        status: response.status,
        retryable,
        // A gateway error (500/502/504) may come after the server applied the call; 429 and 503 refuse it.
        outcomeUnknown: response.status >= 500 && response.status !== 503,
        retryAfterSeconds: retryable ? retryAfterSeconds(response.headers) : undefined,
      });
    }

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
    // HTTP 200 said the call was done, but nothing in the answer can be trusted.
    throw new ApiError(`${endpoint}: invalid 200 response${about}: ${problem}`, {
      endpoint,
      status: 200,
      retryable: false,
      outcomeUnknown: true,
    });
  }
}

/**
 * Error bodies are not expected to carry secrets, but they are server text: drop the known
 * secrets (the API key, a create's cert and key) should a server or proxy ever echo them,
 * then anything else shaped like key material.
 */
function redact(text: string, apiKey: string, secrets: readonly string[]): string {
  let redacted = apiKey === '' ? text : text.split(apiKey).join('[API key redacted]');
  for (const secret of secrets) if (secret !== '') redacted = redacted.split(secret).join('[secret redacted]');
  return redactKeyMaterial(redacted);
}
