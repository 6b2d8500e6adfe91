// `npm run package`: builds build/makemac.zip, the Cloud Function's source archive that
// terraform/source.tf uploads. Steps, in order:
//   1. type-check and compile functions/reconcile.ts and the modules it imports, and nothing else
//      (no command-line tools, simulator or fakes, never test/), with the installed TypeScript
//      into a staging directory (build/function/), failing on any type error;
//   2. add package.json (main → the compiled entry; runtime dependencies only; no scripts or
//      bin: the build must not run them and the function has no command) and a package-lock.json
//      cut to the runtime dependencies, so Cloud Build's `npm ci` installs exactly those;
//   3. zip the staging directory deterministically (zip.ts).
// Usage: tsx functions/build/package.ts [--out-dir DIR]   (default: build/ at the repository root)
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { createZip, type ZipEntry } from './zip';

/** The deployed entry point; package.json's `main` and the function's `entry_point` live here. */
const ENTRY = 'functions/reconcile.js';
/** Compiled source trees. test/ is never shipped. */
const SOURCE_DIRS = ['functions', 'shared'];
/** What the function must never import: tools for a terminal, the fakes and the simulator. */
const NOT_SHIPPED = [/^functions\/(build|bench|demo|simulate|cli|makemac|fakes|status|check|reconcile-command)\b/, /^shared\/sim\//];

interface PackageResult {
  zipPath: string;
  stagingDir: string;
  bytes: number;
  files: string[];
}

function packageFunction(root: string, outDir: string): PackageResult {
  const stagingDir = path.join(outDir, 'function');
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { recursive: true });

  compile(root, stagingDir);
  if (!existsFile(path.join(stagingDir, ENTRY))) {
    throw new Error(`the compiled sources have no ${ENTRY}: is functions/reconcile.ts missing?`);
  }

  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  delete manifest.scripts;
  delete manifest.bin;
  delete manifest.devDependencies;
  manifest.main = ENTRY;
  writeFileSync(path.join(stagingDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const lock = runtimeLock(JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lockfile, manifest);
  writeFileSync(path.join(stagingDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);

  const files = listFiles(stagingDir);
  const entries: ZipEntry[] = files.map((name) => ({ name, data: readFileSync(path.join(stagingDir, name)) }));
  const zip = createZip(entries);
  const zipPath = path.join(outDir, 'makemac.zip');
  writeFileSync(zipPath, zip);
  return { zipPath, stagingDir, bytes: zip.length, files };
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, { dev?: boolean } & Record<string, unknown>>;
}

/**
 * The repository's lock without what only development needs: npm marks every package that only
 * devDependencies reach `dev: true`. The root entry is rewritten to match the shipped
 * package.json, which npm ci checks the lock against.
 */
function runtimeLock(lock: Lockfile, manifest: Record<string, unknown>): Lockfile {
  if (lock.lockfileVersion < 2) throw new Error(`package-lock.json version ${lock.lockfileVersion}: need 2 or 3`);
  const packages: Lockfile['packages'] = {};
  for (const [name, entry] of Object.entries(lock.packages)) {
    if (name === '') {
      const { devDependencies: _dev, bin: _bin, ...root } = entry as Record<string, unknown>;
      packages[name] = { ...root, dependencies: manifest.dependencies };
    } else if (!entry.dev) {
      packages[name] = entry;
    }
  }
  return { ...lock, packages };
}

/** Type-checks and emits CommonJS for functions/reconcile.ts and its imports into `outDir`, mirroring their paths. */
function compile(root: string, outDir: string): void {
  const configPath = path.join(root, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(formatDiagnostics([diagnostic], root));
    },
  });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  // The entry alone: the program then holds exactly the modules it imports, and only those are emitted.
  const rootNames = [path.join(root, ENTRY.replace(/\.js$/, '.ts'))];
  const options: ts.CompilerOptions = {
    ...parsed.options,
    rootDir: root,
    outDir,
    noEmit: false,
    noEmitOnError: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    composite: false,
    incremental: false,
  };
  delete options.tsBuildInfoFile;
  const program = ts.createProgram(rootNames, options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error)) {
    throw new Error(`type errors; nothing packaged:\n${formatDiagnostics(diagnostics, root)}`);
  }
  const outside: string[] = [];
  const result = program.emit(undefined, (fileName, text) => {
    const relative = toPosix(path.relative(outDir, fileName));
    // A product module importing from test/, the simulator or a tool would ship it: refuse instead.
    if (!SOURCE_DIRS.some((dir) => relative.startsWith(`${dir}/`)) || NOT_SHIPPED.some((pattern) => pattern.test(relative))) {
      outside.push(relative);
    }
    mkdirSync(path.dirname(fileName), { recursive: true });
    writeFileSync(fileName, text);
  });
  if (result.emitSkipped) throw new Error(`emit failed:\n${formatDiagnostics(result.diagnostics, root)}`);
  if (outside.length > 0) {
    throw new Error(`the function imports files it must not ship: ${outside.join(', ')}`);
  }
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

/** Every file under `dir`, as sorted forward-slash relative paths. */
function listFiles(dir: string, prefix = ''): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) names.push(...listFiles(dir, relative));
    else if (entry.isFile()) names.push(relative);
  }
  return names.sort();
}

function existsFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function toPosix(file: string): string {
  return file.split(path.sep).join('/');
}

function main(argv: readonly string[]): number {
  const root = path.resolve(__dirname, '..', '..');
  let outDir = path.join(root, 'build');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir' && argv[i + 1]) outDir = path.resolve(argv[++i]!);
    else {
      console.error(`usage: tsx functions/build/package.ts [--out-dir DIR]`);
      return 2;
    }
  }
  try {
    const { zipPath, bytes, files } = packageFunction(root, outDir);
    console.log(`${path.relative(process.cwd(), zipPath) || zipPath}: ${bytes} bytes, ${files.length} files`);
    return 0;
  } catch (err) {
    console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
