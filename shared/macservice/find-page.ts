// One `leases:find` answer, read as it streams in (wire-notes.md §6.6). With every lease of the
// customer, bot certs and keys included, the body can reach hundreds of MB at tens of thousands
// of leases: it is never held whole. Each element of `instances` is validated on its own and
// reduced at once to what a pass uses (readInstance in wire.ts); the JSON around it is checked
// token by token. Parser: @streamparser/json (README, dependency notes).
import { JSONParser, TokenType } from '@streamparser/json';
import type { Lease } from '../fleet';
import { readInstance, type IsOwned, type MalformedLease } from './wire';

export interface FindPage {
  leases: Lease[];
  malformed: MalformedLease[];
  /** Elements of other projects that did not parse. */
  skipped: number;
  /** '' on the last page. */
  nextPageToken: string;
}

/** Feed it the body's chunks with write(), then end() gives the page or says what was wrong. */
export class FindPageReader {
  private readonly parser = new JSONParser({ paths: ['$.instances.*', '$.nextPageToken'], keepStack: false });
  private readonly page: FindPage = { leases: [], malformed: [], skipped: 0, nextPageToken: '' };
  private problem: string | null = null;
  private bytes = 0;
  private depth = 0;
  /** The root object's member being read, from its key to the start of its value. */
  private memberKey: string | null = null;
  private expectKey = false;
  private sawRoot = false;
  /** The shape is checked up to the start of `instances`; past it, per-token checks would only cost time. */
  private shapeChecked = false;

  /** `known`: leases left out unread (a re-read wants only the leases that are new). */
  constructor(
    private readonly isOwned: IsOwned,
    private readonly known?: ReadonlySet<string>,
  ) {
    // Never the library's own message: it quotes the text around the error, which may be a key.
    this.parser.onError = () => this.fail('body is not JSON');
    this.parser.onToken = ({ token, value }) => this.checkShape(token, value);
    this.parser.onValue = ({ value, key, parent, stack }) => {
      if (stack.length === 1 && key === 'nextPageToken') {
        if (value !== null && typeof value !== 'string') this.fail('nextPageToken: expected a string');
        else this.page.nextPageToken = value ?? '';
        return;
      }
      if (stack.length !== 2 || !Array.isArray(parent)) return;
      if (this.known?.has(leaseIdOf(value))) return;
      const reading = readInstance(value, this.isOwned);
      if (reading.kind === 'lease') this.page.leases.push(reading.lease);
      else if (reading.kind === 'malformed') this.page.malformed.push(reading.lease);
      else this.page.skipped += 1;
    };
  }

  /** Parses one chunk; false once the body is known to be bad (read no further). */
  write(chunk: Uint8Array): boolean {
    if (this.problem !== null) return false;
    this.bytes += chunk.byteLength;
    try {
      this.parser.write(chunk);
    } catch {
      this.fail('body is not JSON');
    }
    return this.problem === null;
  }

  /** The page, or the reason the answer as a whole cannot be used. */
  end(): FindPage | { problem: string } {
    if (this.problem === null && !this.parser.isEnded) {
      try {
        this.parser.end();
      } catch {
        this.fail('body is not JSON');
      }
    }
    if (this.problem === null && !this.sawRoot) this.fail('body is not JSON');
    return this.problem === null ? this.page : { problem: this.problem };
  }

  get bytesRead(): number {
    return this.bytes;
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
