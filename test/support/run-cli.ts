// Runs the real `makemac` command as its own process — package.json's `bin`, the JavaScript
// `npm ci` compiled (vitest's global setup rebuilds it when a source is newer) — so what is
// tested is what an operator runs: argument handling, exit code, stdout and stderr.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const MAKEMAC = path.join(ROOT, (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { makemac: string } }).bin.makemac);

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Only `env`, not the test's own environment (an operator's shell without Google credentials). */
  bare?: boolean;
  /** Called with the process id once started: to send it a signal. */
  onSpawn?: (pid: number) => void;
  timeoutMs?: number;
}

/** Asynchronous, so fakes served by the test process keep answering while it runs. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, options: RunCliOptions = {}): Promise<CliRun> {
  const { timeoutMs = 30_000 } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAKEMAC, ...args], {
      cwd: ROOT,
      env: (options.bare ? env : { ...process.env, ...env }) as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`makemac ${args.join(' ')} ran over ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
