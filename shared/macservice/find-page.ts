// One `leases:find` answer (wire-notes.md §6.6). With every lease of the customer, bot certs
// and keys included, the body can reach hundreds of MB at tens of thousands of leases, so past
// WHOLE_BODY_BYTES it is read as it streams and never held whole: each element of `instances`
// is validated on its own and reduced at once to what a pass uses (readInstance in wire.ts),
// the JSON around it checked token by token. A smaller body is kept whole and read with
// JSON.parse, which is native and many times faster than the streaming parser, so an ordinary
// fleet does not pay for the large one. Parser: @streamparser/json (README, dependency notes).
import { JSONParser, TokenType } from '@streamparser/json';
import type { Lease } from '../fleet';
import { readInstance, type IsOwned, type MalformedLease } from './wire';

/** Bodies up to this size are parsed whole: at most a few tens of MiB of parsed objects, briefly. */
export const WHOLE_BODY_BYTES = 4 * 1024 * 1024;

export interface FindPage {
  leases: Lease[];
  malformed: MalformedLease[];
  /** Elements of other projects that did not parse. */
  skipped: number;
  /** '' on the last page. */
  nextPageToken: string;
}

type Problem = { problem: string };

export const NOT_JSON = 'body is not JSON';

/** Feed it the body's chunks with write(), then end() gives the page or says what was wrong. */
export class FindPageReader {
  private readonly page: FindPage = { leases: [], malformed: [], skipped: 0, nextPageToken: '' };
  private chunks: Uint8Array[] | null = [];
  private streaming: StreamingReader | null = null;
  private bytes = 0;

  /**
   * `known`: leases left out unread (a re-read wants only the leases that are new).
   * `wholeUpTo`: the size past which the body is streamed (tests set 0 to stream every body).
   */
  constructor(
    private readonly isOwned: IsOwned,
    private readonly known?: ReadonlySet<string>,
    private readonly wholeUpTo = WHOLE_BODY_BYTES,
  ) {}

  /** Takes one chunk; false once the body is known to be bad (read no further). */
  write(chunk: Uint8Array): boolean {
    this.bytes += chunk.byteLength;
    if (this.chunks !== null) {
      this.chunks.push(chunk);
      if (this.bytes <= this.wholeUpTo) return true;
      // Too large to keep: what was kept goes to the streaming parser, and the rest as it comes.
      const kept = this.chunks;
      this.chunks = null;
      this.streaming = new StreamingReader((value) => this.take(value), this.page);
      return kept.every((earlier) => this.streaming!.write(earlier));
    }
    return this.streaming!.write(chunk);
  }

  /** The page, or the reason the answer as a whole cannot be used. */
  end(): FindPage | Problem {
    const problem = this.chunks !== null ? this.readWhole(Buffer.concat(this.chunks).toString('utf8')) : this.streaming!.end();
    this.chunks = null;
    return problem === null ? this.page : { problem };
  }

  get bytesRead(): number {
    return this.bytes;
  }

  private readWhole(text: string): string | null {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Never the parser's own message: it may quote the text around the error, which may be a key.
      return NOT_JSON;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return '(root): expected an object';
    const { instances, nextPageToken } = body as { instances?: unknown; nextPageToken?: unknown };
    if (instances !== undefined && instances !== null && !Array.isArray(instances)) return 'instances: expected an array';
    if (nextPageToken !== undefined && nextPageToken !== null && typeof nextPageToken !== 'string') return 'nextPageToken: expected a string';
    this.page.nextPageToken = nextPageToken ?? '';
    for (const value of instances ?? []) this.take(value);
    return null;
  }

  /** One element of `instances`. */
  private take(value: unknown): void {
    if (this.known?.has(leaseIdOf(value))) return;
    const reading = readInstance(value, this.isOwned);
    if (reading.kind === 'lease') this.page.leases.push(reading.lease);
    else if (reading.kind === 'malformed') this.page.malformed.push(reading.lease);
    else this.page.skipped += 1;
  }
}

/** The body read as it streams: elements of `instances` go to `take` one by one. */
class StreamingReader {
  private readonly parser = new JSONParser({ paths: ['$.instances.*', '$.nextPageToken'], keepStack: false });
  private problem: string | null = null;
  private depth = 0;
  /** The root object's member being read, from its key to the start of its value. */
  private memberKey: string | null = null;
  private expectKey = false;
  private sawRoot = false;
  /** The shape is checked up to the start of `instances`; past it, per-token checks would only cost time. */
  private shapeChecked = false;

  constructor(take: (value: unknown) => void, page: FindPage) {
    this.parser.onError = () => this.fail(NOT_JSON);
    this.parser.onToken = ({ token, value }) => this.checkShape(token, value);
    this.parser.onValue = ({ value, key, parent, stack }) => {
      if (stack.length === 1 && key === 'nextPageToken') {
        if (value !== null && typeof value !== 'string') this.fail('nextPageToken: expected a string');
        else page.nextPageToken = value ?? '';
        return;
      }
      if (stack.length === 2 && Array.isArray(parent)) take(value);
    };
  }

  write(chunk: Uint8Array): boolean {
    if (this.problem !== null) return false;
    try {
      this.parser.write(chunk);
    } catch {
      this.fail(NOT_JSON);
    }
    return this.problem === null;
  }

  /** Why the answer cannot be used, or null. */
  end(): string | null {
    if (this.problem === null && !this.parser.isEnded) {
      try {
        this.parser.end();
      } catch {
        this.fail(NOT_JSON);
      }
    }
    if (this.problem === null && !this.sawRoot) this.fail(NOT_JSON);
    return this.problem;
  }

  /** The answer must be an object whose `instances`, when present, is an array or null. */
  private checkShape(token: TokenType, value: unknown): void {
    if (this.shapeChecked) return;
    if (this.depth === 0 && !this.sawRoot) {
      this.sawRoot = true;
      if (token !== TokenType.LEFT_BRACE) this.fail('(root): expected an object');
      this.expectKey = true;
    } else if (this.depth === 1) {
      if (token === TokenType.COMMA) this.expectKey = true;
      else if (this.expectKey) {
        this.memberKey = typeof value === 'string' ? value : null;
        this.expectKey = false;
      } else if (token !== TokenType.COLON && token !== TokenType.RIGHT_BRACE && this.memberKey !== null) {
        if (this.memberKey === 'instances' && token !== TokenType.LEFT_BRACKET && token !== TokenType.NULL) {
          this.fail('instances: expected an array');
        }
        // The rest is the parser's: the elements one by one, nextPageToken through onValue.
        if (this.memberKey === 'instances' && token === TokenType.LEFT_BRACKET) this.shapeChecked = true;
        this.memberKey = null;
      }
    }
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) this.depth += 1;
    else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) this.depth -= 1;
  }

  private fail(problem: string): void {
    this.problem ??= problem;
  }
}

function leaseIdOf(value: unknown): string {
  const lease = value !== null && typeof value === 'object' ? (value as { lease?: unknown }).lease : undefined;
  const id = lease !== null && typeof lease === 'object' ? (lease as { leaseId?: unknown }).leaseId : undefined;
  return typeof id === 'string' ? id : '';
}
