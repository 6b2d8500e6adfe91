// Vitest global setup: tests that start `makemac` as a process run the compiled bin, as users do
// (package.json `bin`, built by `npm ci`). Rebuilt here only when a source is newer than the build,
// so a test run after an edit never runs stale JavaScript.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const BUILD_INFO = path.join(ROOT, 'build', 'dist', '.tsbuildinfo');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(BUILD_INFO).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  const sources = Math.max(
    newestSource(path.join(ROOT, 'functions')),
    newestSource(path.join(ROOT, 'shared')),
    ...['tsconfig.json', 'tsconfig.build.json'].map((name) => statSync(path.join(ROOT, name)).mtimeMs),
  );
  if (builtAt() >= sources) return;
  // The package's own build script: it also makes the bin executable, which `npx makemac` needs.
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  // tsc leaves its build info alone when nothing it emits changed; the build is fresh all the same.
  const now = new Date();
  utimesSync(BUILD_INFO, now, now);
}
