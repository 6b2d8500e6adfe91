// The Cloud Function as Cloud Run runs it: functions-framework in its own process serving the
// compiled function, sent SIGTERM while a pass is running, as Cloud Run does before it stops an instance.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { freePort } from './support/free-port';
import { ROOT } from './support/run-cli';

const FRAMEWORK = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());


/** functions-framework serving `reconcile`; resolves once it listens. */
async function startFramework(config: unknown): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [FRAMEWORK, '--target=reconcile', `--source=${join(ROOT, 'build', 'dist', 'functions', 'reconcile.js')}`, `--port=${port}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, METADATA_SERVER_DETECTION: 'none', GOOGLE_CLOUD_PROJECT: 'makemac-test', ...SECRET_ENV, MAKEMAC_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(killer));
  for (let i = 0; i < 200 && !output.includes('Serving function'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(output).toContain('Serving function');
  return { child, url: `http://127.0.0.1:${port}/`, output: () => output, exited };
}

describe('the function under SIGTERM', () => {
  it('interrupts its pass, lets calls in flight finish, answers the summary with 500, logs it, then exits', async () => {
    for (let i = 0; i < 12; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * 3_600_000));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    fleet.macService.inject('renew', { kind: 'delay', ms: 1_000 });
    const config = fleet.configDocument({ policy: { concurrency: 2 } });
    (config.swarming as any)[0].groups[0].count = 12;
    (config.swarming as any)[0].groups[1].count = 0;
    const framework = await startFramework(config);

    const answer = fetch(framework.url, { method: 'POST' });
    while (fleet.macService.requests.filter((r) => r.verb === 'renew').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    framework.child.kill('SIGTERM');
    const response = await answer;

    expect(response.status).toBe(500);
    const summary: any = await response.json();
    expect(summary).toMatchObject({ outcome: 'failed', failures: ['interrupted'], actions: { ok: 2, skipped: 10 } });
    expect(fleet.macService.requests.filter((r) => r.verb === 'renew')).toHaveLength(2);
    await framework.exited;
    const lines = framework.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.find((l) => l.event === 'pass.interrupted')).toMatchObject({ signal: 'SIGTERM' });
    expect(lines.find((l) => l.event === 'pass.summary')).toMatchObject({ outcome: 'failed', failures: ['interrupted'] });
  }, 60_000);

  it('exits at once on SIGTERM when no pass is running', async () => {
    fleet.seedConvergedFleet();
    const framework = await startFramework(fleet.configDocument());
    expect((await fetch(framework.url, { method: 'POST' })).status).toBe(200);
    const sent = Date.now();
    framework.child.kill('SIGTERM');
    await framework.exited;
    expect(Date.now() - sent).toBeLessThan(2_000);
  }, 60_000);
});
