// Log sinks. Every entry is built by one function in log-events.ts, so the sentence and the
// fields come from the same object; this file only decides how an entry is written.
import { randomFillSync } from 'node:crypto';
import type { Writable } from 'node:stream';
import { LABEL_FIELDS, type LogEvent } from './log-contract';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

export interface LogEntry {
  severity: Severity;
  /** One readable sentence. */
  message: string;
  /** Structured fields, as log-contract.ts declares them for `event`. Never whole objects from the APIs. */
  fields: { event: LogEvent } & Record<string, unknown>;
}

export interface Logger {
  write(entry: LogEntry): void;
}

export interface PassContext {
  passId: string;
  dryRun: boolean;
  /** `projects/P/traces/T`, from the request that started the pass. */
  trace?: string;
}

/**
 * JSON lines in Cloud Logging's structured format, the same lines `@google-cloud/logging`'s
 * LogSync wrote (with `useMessageField: false`) without loading that library, which costs a
 * CLI start about 300 ms and 40 MiB: the special fields first, then the entry's own fields at
 * the top of jsonPayload, where metric filters look. No `logName`: on Cloud Run stdout it is no
 * special field and would land inside jsonPayload as one more.
 */
export class JsonLogger implements Logger {
  constructor(
    private readonly stream: Writable,
    private readonly context: PassContext,
  ) {}

  write(entry: LogEntry): void {
    const { passId, dryRun, trace } = this.context;
    const payload: Record<string, unknown> = { message: entry.message, ...entry.fields, passId, dryRun };
    const labels = Object.fromEntries(LABEL_FIELDS.filter((f) => payload[f] != null).map((f) => [f, String(payload[f])]));
    const now = Date.now();
    const line = {
      timestamp: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1_000_000 },
      severity: entry.severity,
      'logging.googleapis.com/labels': labels,
      'logging.googleapis.com/insertId': insertIds.next(),
      ...(trace ? { 'logging.googleapis.com/trace': trace } : {}),
      ...payload,
    };
    this.stream.write(`${JSON.stringify(line)}\n`);
  }
}

/**
 * Insert ids as the logging library makes them: a counter that rises with every entry of the
 * process, then random bytes, in an alphabet whose character order is its value order. Cloud
 * Logging orders entries with the same timestamp by insertId, so a pass's lines keep their order.
 */
class InsertIds {
  private static readonly ALPHABET = '.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
  private readonly bytes = new Uint8Array(24);

  constructor() {
    randomFillSync(this.bytes, 8, 16);
  }

  next(): string {
    for (let i = 7; i >= 0; i--) {
      if (this.bytes[i] !== 255) {
        this.bytes[i]! += 1;
        break;
      }
      this.bytes[i] = 0;
    }
    return encode64(this.bytes, InsertIds.ALPHABET);
  }
}

/** Six bits a character, most significant first (24 bytes give 32 characters). */
function encode64(bytes: Uint8Array, alphabet: string): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const word = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += alphabet[(word >> 18) & 63]! + alphabet[(word >> 12) & 63]! + alphabet[(word >> 6) & 63]! + alphabet[word & 63]!;
  }
  return text;
}

const insertIds = new InsertIds();

const ACTION_EVENTS: ReadonlySet<LogEvent> = new Set(['lease.create', 'lease.renew', 'lease.vacate']);

/** A readable table for a terminal: one row per action, other entries as sentences. */
export class TextLogger implements Logger {
  private headerWritten = false;

  constructor(
    private readonly stream: Writable,
    private readonly minSeverity: Severity = 'INFO',
  ) {}

  write(entry: LogEntry): void {
    if (SEVERITY_RANK[entry.severity] < SEVERITY_RANK[this.minSeverity]) return;
    const f = entry.fields;
    if (ACTION_EVENTS.has(f.event)) {
      if (!this.headerWritten) {
        this.stream.write(row(['ACTION', 'REASON', 'OUTCOME', 'HOST', 'GROUP', 'LEASE', 'DETAIL']) + '\n');
        this.headerWritten = true;
      }
      const cells = [
        f.event.slice('lease.'.length),
        String(f.reason ?? ''),
        String(f.outcome ?? ''),
        String(f.swarmingHost ?? ''),
        String(f.group ?? '-'),
        String(f.leaseId ?? '(new)'),
        String(f.error ?? f.detail ?? ''),
      ];
      this.stream.write(row(cells.map(printable)) + '\n');
      return;
    }
    const mark = entry.severity === 'ERROR' ? 'ERROR ' : entry.severity === 'WARNING' ? 'WARN  ' : '';
    this.stream.write(`${mark}${printable(entry.message)}\n`);
  }
}

/**
 * Text with control characters (and the invisible bidirectional overrides) written as escapes:
 * server text such as a lease id with a newline or a terminal escape must not forge lines
 * or rewrite the operator's screen.
 */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => NAMED_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const COLUMN_WIDTHS = [7, 12, 8, 28, 26, 37];

function row(cells: string[]): string {
  return cells.map((cell, i) => (i < COLUMN_WIDTHS.length ? cell.padEnd(COLUMN_WIDTHS[i]!) : cell)).join(' ');
}

const SEVERITY_RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4 };

/** Keeps entries in memory, for the function's response and for tests. */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];
  write(entry: LogEntry): void {
    this.entries.push(entry);
  }
}

/** A logger that passes every string of every entry through `redact` first. */
export function redactingLogger(logger: Logger, redact: (text: string) => string): Logger {
  return { write: (entry) => logger.write(mapStrings(entry, redact)) };
}

/** A copy of `value` with every string in it, at any depth, mapped by `map`. */
export function mapStrings<T>(value: T, map: (text: string) => string): T {
  if (typeof value === 'string') return map(value) as T;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, map)])) as T;
  }
  return value;
}

export function teeLogger(...loggers: Logger[]): Logger {
  return { write: (entry) => loggers.forEach((logger) => logger.write(entry)) };
}
