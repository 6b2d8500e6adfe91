// Builds the API clients for a config. The Cloud Function keeps one set per instance, so the
// OAuth client is reused across passes; secrets are read afresh each pass (pass.ts) and idle
// connections close after a few seconds (http.ts).
import { listedSwarmingHosts, ownedSwarmingHosts, type Config } from './config/schema';
import type { CallCounter } from './http';
import { MacServiceClient } from './macservice/client';
import type { PassClients } from './pass';
import type { SecretResolver } from './secrets';
import { SwarmingClient } from './swarming/client';

export interface ClientOptions {
  calls: CallCounter;
  secrets: SecretResolver;
  /** Replaces Application Default Credentials for Swarming (tests, the simulator). */
  getSwarmingToken?: () => Promise<string>;
}

export function buildClients(config: Config, options: ClientOptions): PassClients {
  const timeoutMs = config.policy.requestTimeout;
  const macService = new MacServiceClient({
    url: config.macService.url,
    apiKey: () => options.secrets.resolve(config.macService.apiKey),
    customer: config.macService.customer,
    ownedHosts: ownedSwarmingHosts(config),
    timeoutMs,
    calls: options.calls,
    redact: (text) => options.secrets.redact(text),
  });
  const swarming = new Map(
    listedSwarmingHosts(config).map((server) => [
      server.host,
      new SwarmingClient({
        host: server.host,
        url: server.url,
        pool: server.pool,
        timeoutMs,
        calls: options.calls,
        redact: (text) => options.secrets.redact(text),
        ...(options.getSwarmingToken ? { getToken: options.getSwarmingToken } : {}),
      }),
    ]),
  );
  return { macService, swarming };
}
