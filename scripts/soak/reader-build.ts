import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The checkout (or the installed package) this module belongs to. */
export const ROOT = path.join(__dirname, '..', '..');

/** How the soak starts `reader-sim start`: the program and the arguments before `start`. */
export interface ReaderLauncher {
  command: string;
  args: string[];
  /** What it is, for the report: compiled JavaScript or TypeScript through ts-node. */
  mode: 'compiled' | 'ts-node' | 'dist';
}

/** Folders `npm run build` compiles (tsconfig.build.json): everything the reader runs. */
const SOURCE_DIRS = ['firmware', 'led', 'ble', 'storage', 'scripts'];
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'reader-sim-soak');

/**
 * The reader the soak kills, as a child process. In a checkout it is the same TypeScript
 * `bin/reader-sim.js` runs, transpiled once into node_modules/.cache (the transform ts-node's
 * transpile-only mode applies, without its per-boot cost: a boot under ts-node takes ~4 s on a
 * loaded 2-core VM, compiled ~1 s, and the soak boots the reader after every kill). Where only
 * dist/ exists (the Docker image) it is dist/. `tsNode` forces bin/reader-sim.js itself.
 */
export function readerLauncher(options: { tsNode?: boolean } = {}): ReaderLauncher {
  const bin = path.join(ROOT, 'bin', 'reader-sim.js');
  const hasSources = fs.existsSync(path.join(ROOT, 'scripts', 'cli.ts'));
  if (!hasSources) return { command: process.execPath, args: [bin], mode: 'dist' };
  if (options.tsNode) return { command: process.execPath, args: [bin], mode: 'ts-node' };
  transpileTree();
  const entry = path.join(CACHE_DIR, 'reader-sim.js');
  writeIfChanged(
    entry,
    "'use strict';\n// Written by scripts/soak/reader-build.ts: the transpiled reader-sim CLI.\n" +
      "require('./scripts/cli.js').main(process.argv.slice(2));\n",
  );
  return { command: process.execPath, args: [entry], mode: 'compiled' };
}

/** Transpiles every source file whose content changed since the last run (content-hashed). */
function transpileTree(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a dev tool, loaded on use only
  const ts = require('typescript') as typeof import('typescript');
  const compilerOptions: import('typescript').CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    resolveJsonModule: true,
    isolatedModules: true,
  };
  const stamp = createHash('sha256').update(ts.version).update(JSON.stringify(compilerOptions));
  const salt = stamp.digest('hex').slice(0, 16);
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(ROOT, dir))) {
      const source = fs.readFileSync(file, 'utf8');
      const hash = createHash('sha256').update(salt).update(source).digest('hex').slice(0, 32);
      const out = path.join(CACHE_DIR, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
      const hashFile = `${out}.hash`;
      if (fs.existsSync(out) && readOr(hashFile) === hash) continue;
      const js = ts.transpileModule(source, { compilerOptions, fileName: file }).outputText;
      writeIfChanged(out, js);
      writeIfChanged(hashFile, hash);
    }
  }
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files;
}

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Atomic (write + rename): two soaks in one checkout never see half a file. */
function writeIfChanged(file: string, text: string): void {
  if (readOr(file) === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
