// Log sinks. Every entry is built by one function in log-events.ts, so the sentence and the
// fields come from the same object; this file only decides how an entry is written.
import type { Writable } from 'node:stream';
import { Entry, LogSync, type Logging } from '@google-cloud/logging';
import { setInstrumentationStatus } from '@google-cloud/logging/build/src/utils/instrumentation';
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

/** JSON lines in Cloud Logging's structured format, through the library's LogSync. */
export class JsonLogger implements Logger {
  private readonly log;

  constructor(
    stream: Writable,
    private readonly context: PassContext,
    projectId = process.env.GOOGLE_CLOUD_PROJECT ?? 'makemac-local',
  ) {
    // LogSync formats entries and writes them to the stream; of its Logging it reads only the
    // project, the entry factory and a detected resource. A full Logging also sets up API
    // clients, whose credential lookup probes the GCE metadata server on every run (a stall and
    // a warning off Google Cloud) for nothing: Cloud Run attaches the resource to stdout lines.
    const writer = { projectId, detectedResource: undefined, entry: (metadata: object, data: object) => new Entry(metadata, data) };
    // useMessageField: false keeps the fields at the top of jsonPayload, where metric filters look.
    this.log = new LogSync(writer as unknown as Logging, 'makemac', stream, { useMessageField: false });
    // Marks the library's one-off diagnostic line (its name and version, with no severity,
    // message or event) as already written, so every line on stdout is one of makemac's entries.
    setInstrumentationStatus(true);
  }

  write(entry: LogEntry): void {
    const { passId, dryRun, trace } = this.context;
    const payload: Record<string, unknown> = { message: entry.message, ...entry.fields, passId, dryRun };
    const labels = Object.fromEntries(LABEL_FIELDS.filter((f) => payload[f] != null).map((f) => [f, String(payload[f])]));
    const metadata = { severity: entry.severity, labels, ...(trace ? { trace } : {}) };
    this.log.write(this.log.entry(metadata, payload));
  }
}

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
      this.stream.write(row(cells) + '\n');
      return;
    }
    const mark = entry.severity === 'ERROR' ? 'ERROR ' : entry.severity === 'WARNING' ? 'WARN  ' : '';
    this.stream.write(`${mark}${entry.message}\n`);
  }
}

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
