// `makemac fakes` as its own process: it starts, prints a config that `reconcile` and `status`
// (each their own process) can use, and stops cleanly on SIGINT.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAKEMAC, ROOT, runCli } from './support/run-cli';

/** Starts `makemac fakes`, waits until it serves, and returns its config file. */
async function startFakes(args: string[]) {
  const child = spawn(process.execPath, [MAKEMAC, 'fakes', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!stdout.includes('Serving until Ctrl-C.')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`makemac fakes did not start: ${stdout}${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const configFile = /^Config \(written to (.+)\):$/m.exec(stdout)![1]!;
  return { child, exited, configFile, output: () => stdout, errors: () => stderr };
}

describe('makemac fakes', () => {
  it('serves the demo fleet to reconcile and status, and stops on SIGINT', async () => {
    const fakes = await startFakes([]);
    try {
      expect(fakes.output()).toMatch(/^ {2}MacService\s+http:\/\/127\.0\.0\.1:\d+\/v1alpha1\/$/m);
      expect(fakes.output()).toContain(`npx makemac status --config ${fakes.configFile}`);
      expect(fakes.output()).toContain(`npx makemac reconcile --config ${fakes.configFile} --dry-run`);
      expect(fakes.output()).toMatch(/curl -s -X POST [^\n]*\\\n[^\n]*v1alpha1\/leases:find$/m);

      const before = await runCli(['status', '--config', fakes.configFile]);
      expect(before.code).toBe(1);
      expect(before.stdout).toMatch(/^darwin-amd64-14\s+short 1\s+3\s+3\s+2\s+2\s+0\s+0\s+0\s+1\s/m);

      const pass = await runCli(['reconcile', '--config', fakes.configFile, '--log-format', 'json']);
      expect(pass.code).toBe(0);
      const events = pass.stdout.split('\n').filter((l) => l.includes('"event"')).map((l) => JSON.parse(l));
      expect(events.filter((e) => e.event === 'lease.vacate').map((e) => e.reason).sort()).toEqual(['dead', 'missing']);
      expect(events.filter((e) => e.event === 'lease.create')).toHaveLength(4);

      const after = await runCli(['status', '--config', fakes.configFile, '--json']);
      const document = JSON.parse(after.stdout);
      const amd64 = document.hosts[0].groups.find((g: any) => g.group === 'darwin-amd64-14');
      expect(amd64).toMatchObject({ leases: 3, healthy: 2, booting: 1, dead: 0 });
    } finally {
      fakes.child.kill('SIGINT');
    }
    expect(await fakes.exited).toBe(0);
    expect(fakes.output()).toContain('makemac fakes: SIGINT, stopping.');
    expect(existsSync(fakes.configFile)).toBe(false);
  }, 60_000);

  it('seeds a fleet file on the ports asked for, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'makemac-fakes-test-'));
    const fleetFile = join(dir, 'fleet.json');
    writeFileSync(
      fleetFile,
      JSON.stringify({
        hosts: [
          {
            host: 'swarm.example.com',
            pool: 'luci.example.pool',
            groups: [{ hostname: 'mac-a', image: 'a'.repeat(64), count: 4, leases: { idle: 2, busy: 1, quarantined: 1, maintenance: 1 } }],
          },
        ],
        unmanaged: 2,
      }),
    );
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const fakes = await startFakes(['--fleet', fleetFile, '--port', String(port)]);
    try {
      expect(fakes.output()).toContain(`http://127.0.0.1:${port}/v1alpha1/`);
      expect(fakes.output()).toContain(`swarm.example.com  http://127.0.0.1:${port + 1}`);
      const status = await runCli(['status', '--config', fakes.configFile, '--json']);
      const document = JSON.parse(status.stdout);
      expect(document.unmanagedLeases).toBe(2);
      expect(document.hosts[0].groups[0]).toMatchObject({ desired: 4, leases: 5, healthy: 3, idle: 2, busy: 1, quarantined: 1, maintenance: 1 });
    } finally {
      fakes.child.kill('SIGTERM');
    }
    expect(await fakes.exited).toBe(0);
  }, 60_000);

  it('refuses a bad fleet file naming the field, a fleet file that is not a regular file, and stray arguments, with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'makemac-fakes-test-'));
    const fleetFile = join(dir, 'fleet.json');
    writeFileSync(fleetFile, JSON.stringify({ hosts: [{ host: 'h', pool: 'p', groups: [{ hostname: 'g', image: 'x', count: 1 }] }] }));
    const bad = await runCli(['fakes', '--fleet', fleetFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('hosts.0.groups.0.image');
    for (const [path, kind] of [['/dev/zero', 'a character device'], [dir, 'a directory']]) {
      const unreadable = await runCli(['fakes', '--fleet', path!], {}, { timeoutMs: 10_000 });
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain(`--fleet: ${path} is not a regular file (${kind})`);
    }
    const stray = await runCli(['fakes', 'now']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('usage: makemac fakes');
  }, 30_000);
});
