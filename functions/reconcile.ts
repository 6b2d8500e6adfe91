// The Cloud Function: HTTP target `reconcile`. POST runs one pass and answers its summary;
// 200 when the pass completed cleanly, 500 otherwise, so Cloud Scheduler records failures.
import * as functions from '@google-cloud/functions-framework';
import type { Request, Response } from '@google-cloud/functions-framework';
import { buildClients } from '../shared/clients';
import { ConfigError, loadConfig } from '../shared/config/load';
import type { Config } from '../shared/config/schema';
import { CallCounter } from '../shared/http';
import { JsonLogger } from '../shared/log';
import { configErrorEntry, passErrorEntry } from '../shared/log-events';
import { INTERRUPT_GRACE_MS, isDryRun, newPassId, runPass, type PassClients } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';

interface Instance {
  config: Config;
  secrets: SecretResolver;
  calls: CallCounter;
  clients: PassClients;
}

// Kept for the instance's life: the config cannot change without a new revision, and reusing
// clients keeps connections and resolved secrets warm.
let instance: Instance | undefined;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Signal listeners present when this module loaded: those added later are the framework's. */
const listenersAtLoad = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
/** Passes being run, each with what interrupts it and a promise settled once it has answered. */
const runningPasses = new Set<{ interrupt: AbortController; answered: Promise<void> }>();
let signalsTakenOver = false;

/**
 * Cloud Run sends SIGTERM before it stops an instance. functions-framework would answer a
 * request in flight with a bare 500 and exit at once, so the pass would end unlogged and its
 * calls cut off. Instead the pass is interrupted (nothing new starts, calls in flight get their
 * grace), answers its summary with 500, and only then do the framework's own handlers run.
 * The framework installs them once it listens, after this module loaded, so they are the
 * listeners added since. Without any (a test server), the signal is raised again unhandled.
 */
function takeOverSignals(): void {
  if (signalsTakenOver) return;
  signalsTakenOver = true;
  for (const signal of SIGNALS) {
    const framework = process.listeners(signal).filter((listener) => !listenersAtLoad.get(signal)!.includes(listener));
    framework.forEach((listener) => process.off(signal, listener));
    const onSignal = () => {
      const passes = [...runningPasses];
      passes.forEach((pass) => pass.interrupt.abort(signal));
      const answered = Promise.allSettled(passes.map((pass) => pass.answered));
      const bound = new Promise((resolve) => setTimeout(resolve, INTERRUPT_GRACE_MS + 3_000).unref());
      void Promise.race([answered, bound]).then(() => {
        if (framework.length > 0) return framework.forEach((listener) => listener(signal));
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}

function instanceFor(env: Record<string, string | undefined>): Instance {
  if (!instance) {
    const config = loadConfig({ env, readFile: () => { throw new Error('no config file in the function'); } });
    const secrets = new SecretResolver({ env });
    const calls = new CallCounter();
    instance = { config, secrets, calls, clients: buildClients(config, { calls, secrets }) };
  }
  return instance;
}

const LIVE_WORDS = ['0', 'false', 'no'];
const DRY_WORDS = ['', '1', 'true', 'yes'];

/**
 * `?dryRun=1` (or `true`, `yes`, a bare `?dryRun`) forces a dry run; `?dryRun=0` (`false`, `no`)
 * forces nothing, so the config's own `dryRun` still applies. Anything else is refused rather
 * than ignored: a misspelt dry run must never become a live pass.
 */
function dryRunQuery(query: Request['query']): { dryRun: boolean | null } | { error: string } {
  const unknown = Object.keys(query).filter((key) => key !== 'dryRun');
  if (unknown.length > 0) return { error: `unknown query parameter ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the only one is dryRun` };
  const value = query.dryRun;
  if (value === undefined) return { dryRun: null };
  if (typeof value !== 'string') return { error: 'dryRun must be given once, as dryRun=1 or dryRun=0' };
  const normalized = value.toLowerCase();
  if (DRY_WORDS.includes(normalized)) return { dryRun: true };
  if (LIVE_WORDS.includes(normalized)) return { dryRun: false };
  return { error: `dryRun=${JSON.stringify(value)} is not understood: use dryRun=1 or dryRun=0` };
}

/**
 * The body may say the same as the query: `{"dryRun": true}` or `{"dryRun": false}` as JSON, or
 * nothing. Any other body is refused, for the same reason as an unknown query parameter.
 */
function dryRunBody(req: Request): { dryRun: boolean | null } | { error: string } {
  const raw = req.rawBody;
  if (raw === undefined || raw.toString('utf8').trim() === '') return { dryRun: null };
  if (!req.is('application/json')) {
    return { error: 'a request body must be JSON ({"dryRun": true} or {"dryRun": false}) sent as Content-Type: application/json' };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { error: 'the request body is not valid JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'the request body must be a JSON object such as {"dryRun": true}' };
  const unknown = Object.keys(body).filter((key) => key !== 'dryRun');
  if (unknown.length > 0) return { error: `unknown body key ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the only one is dryRun` };
  const { dryRun } = body as { dryRun?: unknown };
  if (dryRun === undefined) return { dryRun: null };
  if (typeof dryRun !== 'boolean') return { error: 'dryRun in the body must be true or false' };
  return { dryRun };
}

/** The query and the body together: both may ask, but they must agree. */
function requestedDryRun(req: Request): { dryRun: boolean } | { error: string } {
  const query = dryRunQuery(req.query);
  if ('error' in query) return query;
  const body = dryRunBody(req);
  if ('error' in body) return body;
  if (query.dryRun !== null && body.dryRun !== null && query.dryRun !== body.dryRun) {
    return { error: `the query says dryRun=${query.dryRun} and the body says dryRun=${body.dryRun}: send one, or the same in both` };
  }
  return { dryRun: query.dryRun ?? body.dryRun ?? false };
}

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` → `projects/P/traces/TRACE_ID`. */
export function traceOf(header: string | undefined, projectId: string | undefined): string | undefined {
  const traceId = header?.split('/')[0];
  return traceId && projectId && /^[0-9a-f]{32}$/i.test(traceId) ? `projects/${projectId}/traces/${traceId}` : undefined;
}

export async function reconcile(req: Request, res: Response): Promise<void> {
  if (req.method !== 'POST') {
    res.set('Allow', 'POST').status(405).json({ error: 'use POST to run a reconcile pass' });
    return;
  }
  let current: Instance;
  try {
    current = instanceFor(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logConfigError(err);
    res.status(500).json({ error: `bad config: ${err.message}` });
    return;
  }
  const requested = requestedDryRun(req);
  if ('error' in requested) {
    res.status(400).json({ error: requested.error });
    return;
  }
  const forceDryRun = requested.dryRun;
  const passId = newPassId();
  const trace = traceOf(req.get('x-cloud-trace-context'), process.env.GOOGLE_CLOUD_PROJECT);
  const logger = new JsonLogger(process.stdout, {
    passId,
    dryRun: isDryRun(current.config, forceDryRun),
    ...(trace ? { trace } : {}),
  });
  takeOverSignals();
  const interrupt = new AbortController();
  const answered = new Promise<void>((resolve) => res.once('finish', resolve).once('close', resolve));
  const running = { interrupt, answered };
  runningPasses.add(running);
  try {
    const { summary } = await runPass({ ...current, logger, passId, forceDryRun, interrupt: interrupt.signal });
    res.status(summary.outcome === 'ok' ? 200 : 500).json(summary);
  } catch (err) {
    // A bug, not an API failure (those end in the summary): log it, and answer without details.
    logger.write(passErrorEntry(err instanceof Error ? (err.stack ?? err.message) : String(err)));
    res.status(500).json({ passId, error: 'the pass stopped on an unexpected error; see the pass.error log entry' });
  } finally {
    runningPasses.delete(running);
  }
}

/** Forgets the instance's config and clients (tests start each case from a fresh instance). */
export async function resetInstance(): Promise<void> {
  await instance?.secrets.close();
  instance = undefined;
}

function logConfigError(err: ConfigError): void {
  new JsonLogger(process.stdout, { passId: newPassId(), dryRun: false }).write(configErrorEntry(err.message));
}

// A bad config stops the module from loading, so the functions-framework exits before it
// listens: the new revision never becomes ready and Cloud Run keeps the old one serving.
try {
  instanceFor(process.env);
} catch (err) {
  if (err instanceof ConfigError) logConfigError(err);
  throw err;
}

functions.http('reconcile', reconcile);
