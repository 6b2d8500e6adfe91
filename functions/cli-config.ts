// The config as commands load it: --config, else $MAKEMAC_CONFIG_FILE, else $MAKEMAC_CONFIG.
import { readConfigFile } from '../shared/config/config-file';
import { ConfigError, loadConfig } from '../shared/config/load';
import type { Config } from '../shared/config/schema';
import { EXIT_USAGE, type CliIo } from './cli-io';

/** The loaded config and where it came from, or the exit code after the error was printed. */
export function loadCommandConfig(configFile: string | undefined, io: CliIo): { config: Config; origin: string } | { exitCode: number } {
  try {
    const config = loadConfig({ ...(configFile !== undefined ? { configFile } : {}), env: io.env, readFile: readConfigFile });
    return { config, origin: configFile || io.env.MAKEMAC_CONFIG_FILE || 'MAKEMAC_CONFIG' };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`makemac: bad config: ${err.message}\n`);
    return { exitCode: EXIT_USAGE };
  }
}
