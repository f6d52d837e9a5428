import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The checkout (or the installed package) this module belongs to: the nearest folder with a
 * package.json, as this file sits one level deeper in dist/ than in the sources.
 */
export const ROOT = packageRoot(__dirname);

function packageRoot(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) throw new Error(`no package.json above ${dir}`);
  }
}

/** Folders `npm run build` compiles (tsconfig.build.json): everything the reader runs. */
const SOURCE_DIRS = ['firmware', 'led', 'ble', 'storage', 'osdp', 'scripts'];
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'reader-sim-transpiled');

/**
 * The project's TypeScript as plain CommonJS in node_modules/.cache, for child processes that
 * should not pay ts-node's start-up (the soak's reader, the storage bench's probe): only the
 * files whose content changed since the last call are transpiled again. Returns the root of
 * the tree (the same layout as the checkout: ROOT/storage/x.ts -> TREE/storage/x.js).
 */
export function transpiledTree(): string {
  transpileTree();
  return CACHE_DIR;
}

/** The TypeScript compiler's options: CommonJS as ts-node's transpile-only mode emits it. */
const COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'CommonJS',
  esModuleInterop: true,
  resolveJsonModule: true,
  isolatedModules: true,
} as const;

/**
 * Transpiles every source file whose content changed since the last run (content-hashed).
 * The compiler is loaded only when a file needs it: an unchanged tree costs a read and a hash
 * per file, so each test file that asks pays milliseconds, not the compiler's load.
 */
function transpileTree(): void {
  let ts: typeof import('typescript') | undefined;
  // The compiler's version and the options are in every hash: a new compiler rebuilds all.
  const salt = createHash('sha256')
    .update(compilerVersion())
    .update(JSON.stringify(COMPILER_OPTIONS))
    .digest('hex')
    .slice(0, 16);
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(ROOT, dir))) {
      const source = fs.readFileSync(file, 'utf8');
      const hash = createHash('sha256').update(salt).update(source).digest('hex').slice(0, 32);
      const out = path.join(CACHE_DIR, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
      const hashFile = `${out}.hash`;
      if (fs.existsSync(out) && readOr(hashFile) === hash) continue;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a dev tool, loaded on use only
      ts ??= require('typescript') as typeof import('typescript');
      const compilerOptions: import('typescript').CompilerOptions = {
        ...COMPILER_OPTIONS,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
      };
      const js = ts.transpileModule(source, { compilerOptions, fileName: file }).outputText;
      writeIfChanged(out, js);
      writeIfChanged(hashFile, hash);
    }
  }
}

/** The installed compiler's version, without loading the compiler. */
function compilerVersion(): string {
  const pkg = require.resolve('typescript/package.json', { paths: [ROOT] });
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
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
  } catch (err) {
    // Not written yet: the caller writes it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Atomic (write + rename): two soaks in one checkout never see half a file. */
export function writeIfChanged(file: string, text: string): void {
  if (readOr(file) === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
