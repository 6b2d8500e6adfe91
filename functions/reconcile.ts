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
import { isDryRun, newPassId, runPass, type PassClients } from '../shared/pass';
import { SecretResolver } from '../shared/secrets';

interface Instance {
  config: Config;
  secrets: SecretResolver;
  calls: CallCounter;
  clients: PassClients;
}

// Built on the first request and kept for the instance's life: the config cannot change
// without a new revision, and reusing clients keeps connections and resolved secrets warm.
let instance: Instance | undefined;

function instanceFor(env: Record<string, string | undefined>): Instance {
  if (!instance) {
    const config = loadConfig({ env, readFile: () => { throw new Error('no config file in the function'); } });
    const secrets = new SecretResolver({ env });
    const calls = new CallCounter();
    instance = { config, secrets, calls, clients: buildClients(config, { calls, secrets }) };
  }
  return instance;
}

/**
 * `?dryRun=1` forces a dry run. Anything the function does not understand is refused rather
 * than ignored: a misspelt dry run must never become a live pass.
 */
function dryRunQuery(query: Request['query']): { dryRun: boolean } | { error: string } {
  const unknown = Object.keys(query).filter((key) => key !== 'dryRun');
  if (unknown.length > 0) return { error: `unknown query parameter ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the only one is dryRun` };
  const value = query.dryRun;
  if (value === undefined) return { dryRun: false };
  if (typeof value !== 'string') return { error: 'dryRun must be given once, as dryRun=1 or dryRun=0' };
  const normalized = value.toLowerCase();
  if (['', '1', 'true', 'yes'].includes(normalized)) return { dryRun: true };
  if (['0', 'false', 'no'].includes(normalized)) return { dryRun: false };
  return { error: `dryRun=${JSON.stringify(value)} is not understood: use dryRun=1 or dryRun=0` };
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
    new JsonLogger(process.stdout, { passId: newPassId(), dryRun: false }).write(configErrorEntry(err.message));
    res.status(500).json({ error: `bad config: ${err.message}` });
    return;
  }
  const query = dryRunQuery(req.query);
  if ('error' in query) {
    res.status(400).json({ error: query.error });
    return;
  }
  const forceDryRun = query.dryRun;
  const passId = newPassId();
  const trace = traceOf(req.get('x-cloud-trace-context'), process.env.GOOGLE_CLOUD_PROJECT);
  const logger = new JsonLogger(process.stdout, {
    passId,
    dryRun: isDryRun(current.config, forceDryRun),
    ...(trace ? { trace } : {}),
  });
  try {
    const { summary } = await runPass({ ...current, logger, passId, forceDryRun });
    res.status(summary.outcome === 'ok' ? 200 : 500).json(summary);
  } catch (err) {
    // A bug, not an API failure (those end in the summary): log it, and answer without details.
    logger.write(passErrorEntry(err instanceof Error ? (err.stack ?? err.message) : String(err)));
    res.status(500).json({ passId, error: 'the pass stopped on an unexpected error; see the pass.error log entry' });
  }
}

/** Forgets the instance's config and clients (tests start each case from a fresh instance). */
export async function resetInstance(): Promise<void> {
  await instance?.secrets.close();
  instance = undefined;
}

functions.http('reconcile', reconcile);
