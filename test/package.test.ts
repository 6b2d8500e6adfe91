// `npm run package` (functions/build/package.ts): runs the real packaging into a scratch directory,
// then reads the zip back with an independent reader (central directory, local headers,
// inflate, CRC via node:zlib) and checks what Cloud Build will receive.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 as zlibCrc32, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, createZip } from '../functions/build/zip';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, startFakeFleet } from './support/fake-fleet';
import { freePort } from './support/free-port';
import { ROOT } from './support/run-cli';

const PACKAGING_TIMEOUT_MS = 180_000;

interface ReadEntry {
  name: string;
  method: number;
  crc: number;
  data: Buffer;
}

/** Reads a (non-zip64, single-disk) zip through its central directory, verifying each entry. */
function readZip(zip: Buffer): ReadEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  const directorySize = zip.readUInt32LE(eocd + 12);
  let at = zip.readUInt32LE(eocd + 16);
  if (at + directorySize !== eocd) throw new Error('central directory does not end at the end record');
  const entries: ReadEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central header ${i}`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const localName = zip.toString('utf8', localOffset + 30, localOffset + 30 + zip.readUInt16LE(localOffset + 26));
    if (localName !== name) throw new Error(`local header names ${localName}, central directory ${name}`);
    const start = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const body = zip.subarray(start, start + compressedSize);
    const data = method === 8 ? inflateRawSync(body) : method === 0 ? Buffer.from(body) : null;
    if (!data) throw new Error(`${name}: unsupported method ${method}`);
    if (data.length !== size) throw new Error(`${name}: size ${data.length}, header says ${size}`);
    if (zlibCrc32(data) !== crc) throw new Error(`${name}: CRC mismatch`);
    entries.push({ name, method, crc, data });
  }
  return entries;
}

describe('zip writer', () => {
  it('computes the same CRC-32 as zlib', () => {
    for (const data of [Buffer.alloc(0), Buffer.from('hello world'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))]) {
      expect(crc32(data)).toBe(zlibCrc32(data));
    }
  });

  it('writes a readable archive whose bytes depend only on the entries', () => {
    const a = { name: 'functions/a.js', data: Buffer.from('module.exports = 1;\n'.repeat(50)) };
    const b = { name: 'package.json', data: Buffer.from('{}') };
    const zip = createZip([a, b]);
    expect(createZip([b, a]).equals(zip)).toBe(true);
    expect(readZip(zip).map((e) => [e.name, e.data.toString()])).toEqual([
      [a.name, a.data.toString()],
      [b.name, b.data.toString()],
    ]);
  });

  it('refuses duplicate and escaping entry names', () => {
    expect(() => createZip([{ name: 'x', data: Buffer.from('') }, { name: 'x', data: Buffer.from('') }])).toThrow(/duplicate/);
    expect(() => createZip([{ name: '../x', data: Buffer.from('') }])).toThrow(/relative/);
    expect(() => createZip([{ name: '/etc/x', data: Buffer.from('') }])).toThrow(/relative/);
  });
});


/** POSTs to the function once it listens (it takes a moment to start). */
async function postWhenUp(url: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, { method: 'POST' });
    } catch (err) {
      if (attempt >= 150) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Runs `npm run package` into `outDir` as a separate process, as a developer would. */
function runPackaging(outDir: string) {
  const run = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'functions/build/package.ts', '--out-dir', outDir],
    { cwd: ROOT, encoding: 'utf8', timeout: PACKAGING_TIMEOUT_MS },
  );
  if (run.status !== 0) throw new Error(`packaging failed (${run.status ?? run.signal}):\n${run.stderr}${run.stdout}`);
  return run;
}

describe('npm run package', () => {
  let outDir: string;
  let zip: Buffer;
  let entries: ReadEntry[];
  let names: string[];
  let stdout: string;

  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), 'makemac-package-'));
    stdout = runPackaging(outDir).stdout;
    zip = readFileSync(path.join(outDir, 'makemac.zip'));
    entries = readZip(zip);
    names = entries.map((e) => e.name);
  }, PACKAGING_TIMEOUT_MS);

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  const entry = (name: string) => {
    const found = entries.find((e) => e.name === name);
    if (!found) throw new Error(`${name} is not in the zip`);
    return found.data;
  };

  it('prints the zip path and size', () => {
    expect(stdout).toMatch(/makemac\.zip: \d+ bytes/);
    expect(stdout).toContain(String(zip.length));
  });

  it('holds the compiled entry point, the compiled shared modules, package.json and the lock', () => {
    expect(names).toContain('functions/reconcile.js');
    expect(names).toContain('package.json');
    expect(names).toContain('package-lock.json');
    expect(names).toContain('shared/config/schema.js');
    expect(names.filter((n) => n.startsWith('shared/')).length).toBeGreaterThan(5);
  });

  it('holds the function only: no sources, tests, build tools, command-line tools, simulator, fakes or node_modules', () => {
    const stray = names.filter(
      (n) => !(n === 'package.json' || n === 'package-lock.json' || /^(functions|shared)\/[\w./-]+\.js$/.test(n)),
    );
    expect(stray).toEqual([]);
    expect(names.filter((n) => /^test\/|node_modules|\.ts$|\.map$/.test(n))).toEqual([]);
    expect(names.filter((n) => /^functions\/(build|bench|demo|simulate|cli|makemac|fakes|status|check|reconcile-command)\b|^shared\/sim\//.test(n))).toEqual([]);
    expect(names).toEqual([...names].sort());
  });

  it('ships package.json pointing at the entry with the runtime dependencies only, and a lock of exactly those', () => {
    const manifest = JSON.parse(entry('package.json').toString('utf8'));
    const original = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(manifest.main).toBe('functions/reconcile.js');
    expect(manifest.scripts).toBeUndefined();
    expect(manifest.bin).toBeUndefined();
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.dependencies).toEqual(original.dependencies);
    const lock = JSON.parse(entry('package-lock.json').toString('utf8'));
    const repoLock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    expect(lock.packages[''].dependencies).toEqual(original.dependencies);
    expect(lock.packages[''].devDependencies).toBeUndefined();
    const locked = Object.keys(lock.packages).filter((name) => name !== '');
    expect(locked.length).toBeGreaterThan(10);
    expect(locked.filter((name) => lock.packages[name].dev)).toEqual([]);
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest']) expect(locked).not.toContain(`node_modules/${dev}`);
    // Every runtime package of the repository's lock, as locked there.
    for (const name of Object.keys(repoLock.packages).filter((n) => n !== '' && !repoLock.packages[n].dev)) {
      expect(lock.packages[name], name).toEqual(repoLock.packages[name]);
    }
  });

  it('installs with npm ci from its own lock, without development tools, and serves a pass', async () => {
    const extracted = path.join(outDir, 'extracted');
    for (const { name, data } of entries) {
      mkdirSync(path.dirname(path.join(extracted, name)), { recursive: true });
      writeFileSync(path.join(extracted, name), data);
    }
    // What Cloud Build does with the archive.
    const install = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: extracted, encoding: 'utf8', timeout: PACKAGING_TIMEOUT_MS });
    expect(install.status, install.stderr).toBe(0);
    const installed = readdirSync(path.join(extracted, 'node_modules'));
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest', '@esbuild']) expect(installed).not.toContain(dev);

    const fleet = await startFakeFleet();
    const port = await freePort();
    const server = spawn(process.execPath, [path.join(extracted, 'node_modules/.bin/functions-framework'), '--target=reconcile', `--port=${port}`], {
      cwd: extracted,
      env: {
        PATH: process.env.PATH,
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: 'makemac-package-test',
        MAKEMAC_CONFIG: JSON.stringify(fleet.configDocument()),
        ...SECRET_ENV,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk));
    server.stderr.on('data', (chunk) => (output += chunk));
    try {
      fleet.seedConvergedFleet();
      const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
      fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
      const response = await postWhenUp(`http://127.0.0.1:${port}/`);
      const summary = await response.json();
      expect(response.status, output).toBe(200);
      expect(summary).toMatchObject({ outcome: 'ok', actions: { planned: 1, ok: 1 } });
      expect(fleet.world.leases.has(dead.leaseId)).toBe(false);
      expect(output).toContain('"event":"pass.summary"');
    } finally {
      server.kill();
      await fleet.close();
    }
  }, PACKAGING_TIMEOUT_MS);

  it('is reproducible: the same files give the same bytes, so terraform sees no change', () => {
    expect(createZip(entries.map(({ name, data }) => ({ name, data }))).equals(zip)).toBe(true);
    // A second packaging, later and elsewhere, must give the very same archive.
    const again = path.join(outDir, 'again');
    runPackaging(again);
    expect(readFileSync(path.join(again, 'makemac.zip')).equals(zip)).toBe(true);
  }, PACKAGING_TIMEOUT_MS);
});
