// Runs one reconcile pass against a fake fleet without the CLI: the real clients over
// loopback, a MemoryLogger (teed to any other logger given), and a controllable clock.
import { buildClients } from '../../shared/clients';
import { parseConfig } from '../../shared/config/load';
import { CallCounter } from '../../shared/http';
import { MemoryLogger, teeLogger, type Logger } from '../../shared/log';
import { runPass, type PassClients, type PassResult } from '../../shared/pass';
import { SecretResolver } from '../../shared/secrets';
import type { MacServiceFakeRequest } from '../../shared/sim/macservice-fake';
import { SECRET_ENV, type FakeFleet } from './fake-fleet';

export interface FleetPassOptions {
  /** A whole config document; defaults to fleet.configDocument() with `policy`. */
  document?: unknown;
  policy?: Record<string, unknown>;
  logger?: Logger;
  now?: () => number;
  /** Defaults to no wait at all, so retries cost no real time. */
  sleep?: (ms: number) => Promise<void>;
  forceDryRun?: boolean;
  /** Extra environment for `env:` secret references. */
  env?: Record<string, string>;
  /** Wraps the real clients, e.g. to act as another party between two calls. */
  wrapClients?: (clients: PassClients) => PassClients;
}

export interface FleetPassResult extends PassResult {
  entries: MemoryLogger['entries'];
}

export async function runFleetPass(fleet: FakeFleet, options: FleetPassOptions = {}): Promise<FleetPassResult> {
  const config = parseConfig(options.document ?? fleet.configDocument(options.policy ? { policy: options.policy } : {}));
  const calls = new CallCounter();
  const secrets = new SecretResolver({ env: { ...SECRET_ENV, ...options.env } });
  const memory = new MemoryLogger();
  const logger = options.logger ? teeLogger(memory, options.logger) : memory;
  let clients = buildClients(config, { calls, secrets });
  if (options.wrapClients) clients = options.wrapClients(clients);
  const result = await runPass({
    config,
    clients,
    secrets,
    logger,
    calls,
    sleep: options.sleep ?? (async () => undefined),
    ...(options.now ? { now: options.now } : {}),
    ...(options.forceDryRun ? { forceDryRun: true } : {}),
  });
  return { ...result, entries: memory.entries };
}

/** The create, renew and vacate requests the fake MacService received. */
export function mutationsOf(fleet: FakeFleet): MacServiceFakeRequest[] {
  return fleet.macService.requests.filter((r) => r.verb === 'create' || r.verb === 'renew' || r.verb === 'vacate');
}

export function requestsOf(fleet: FakeFleet, verb: 'find' | 'create' | 'renew' | 'vacate'): MacServiceFakeRequest[] {
  return fleet.macService.requests.filter((r) => r.verb === verb);
}

/** A clock whose sleep advances it instantly. */
export function fakeClock(start = Date.now()) {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}
