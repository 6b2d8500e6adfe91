// The real functions-framework, started as Cloud Run starts it: a bad config must stop it
// before it listens, so the revision never becomes ready and the old one keeps serving.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRET_ENV } from './support/fake-fleet';
import { PLACEHOLDER_CONFIG } from './support/placeholder-config';
import { freePort } from './support/free-port';
import { ROOT } from './support/run-cli';


const goodConfig = (): any => JSON.parse(PLACEHOLDER_CONFIG);


/** Starts the framework on the compiled function (`npm ci` built it) and waits for it to listen or exit. */
async function startFramework(config: string, port: number) {
  // The framework itself, not an npx wrapper: killing a wrapper can leave the server running.
  const child = spawn(
    process.execPath,
    ['node_modules/.bin/functions-framework', '--target=reconcile', '--source=build/dist/functions/reconcile.js', `--port=${port}`],
    { cwd: ROOT, env: { ...process.env, ...SECRET_ENV, MAKEMAC_CONFIG: config }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (output.includes('URL: http://')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
    void exited.then(() => clearInterval(poll));
  });
  const first = await Promise.race([exited.then((code) => ({ exitCode: code })), listening.then(() => ({ exitCode: undefined }))]);
  return { child, exited, output: () => output, ...first };
}

describe('the function at start', () => {
  it('exits non-zero before listening when the config is bad, naming the field', async () => {
    const config = goodConfig();
    config.swarming[0].groups[0].count = 5000;
    const started = await startFramework(JSON.stringify(config), await freePort());
    expect(started.exitCode).not.toBe(0);
    expect(started.exitCode).not.toBeUndefined();
    expect(started.output()).toContain('swarming[0].groups[0].count: must be a whole number from 0 to 1000');
    expect(started.output()).toContain('"event":"config.error"');
    expect(started.output()).not.toContain('URL: http://');
  }, 30_000);

  it('refuses a malformed or mistyped secret reference and a missing config the same way', async () => {
    const config = goodConfig();
    config.macService.apiKey = 'secret:';
    const malformed = await startFramework(JSON.stringify(config), await freePort());
    expect(malformed.exitCode).not.toBe(0);
    expect(malformed.output()).toContain('macService.apiKey: malformed secret reference');

    const typo = goodConfig();
    typo.swarming[0].groups[0].cert = 'secrets:darwin-cert';
    const mistyped = await startFramework(JSON.stringify(typo), await freePort());
    expect(mistyped.exitCode).not.toBe(0);
    expect(mistyped.output()).toContain('swarming[0].groups[0].cert:');

    const none = await startFramework('', await freePort());
    expect(none.exitCode).not.toBe(0);
    expect(none.output()).toContain('no config');
  }, 30_000);

  it('listens and answers with a good config', async () => {
    const port = await freePort();
    const started = await startFramework(JSON.stringify(goodConfig()), port);
    try {
      expect(started.exitCode).toBeUndefined();
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(405);
    } finally {
      started.child.kill('SIGTERM');
      await started.exited;
    }
  }, 30_000);
});
