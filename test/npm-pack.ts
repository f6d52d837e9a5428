/**
 * The package's `npm pack` tarball, built once per content: its prepack compiles dist/ with
 * tsc (declarations and all), a minute of a loaded 2-core machine, and the tarball is a
 * function of what goes into it. The key hashes every file the compile reads or the package
 * ships (the source folders, bin/, docs/, types/, the tsconfigs, package.json, the lockfile
 * that pins the dependencies' .d.ts files, README.md) with the node and npm versions; a change
 * to any of them packs again. Tarballs live in node_modules/.cache, written by rename, so two
 * jest runs in one checkout never see half of one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../scripts/dev/transpiled';

const exec = promisify(execFile);

const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'reader-sim-pack');
/** Folders whose files go into the compile or into the tarball. */
const INPUT_DIRS = ['firmware', 'led', 'ble', 'storage', 'osdp', 'scripts', 'types', 'bin', 'docs'];
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  '.npmignore',
  // npm's file list reads the ignore files too.
  '.gitignore',
];
/** Older tarballs kept beside the newest (another worktree's branch, a revert). */
const KEEP = 3;

export interface PackedTarball {
  /** The tarball, in the cache: copy it before handing it to anything that may change it. */
  file: string;
  /** False when this call ran `npm pack`; true when an identical tree had packed it. */
  cached: boolean;
}

/** `npm pack` of the checkout, or the tarball an identical checkout packed before. */
export async function packedTarball(): Promise<PackedTarball> {
  const npm = (await exec('npm', ['--version'], { cwd: ROOT })).stdout.trim();
  const key = inputHash(`node ${process.version} npm ${npm}`);
  const file = path.join(CACHE_DIR, `reader-sim-${key}.tgz`);
  if (fs.existsSync(file)) {
    // Marks it the newest, so the pruning below keeps what is in use.
    const now = new Date();
    fs.utimesSync(file, now, now);
    return { file, cached: true };
  }
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(CACHE_DIR, 'pack-'));
  try {
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      timeout: 5 * 60_000,
    });
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
    }[];
    fs.renameSync(path.join(work, filename), file);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  prune();
  return { file, cached: false };
}

function inputHash(salt: string): string {
  const hash = createHash('sha256').update(salt);
  const files = [
    ...INPUT_FILES.filter((f) => fs.existsSync(path.join(ROOT, f))),
    ...INPUT_DIRS.flatMap((dir) => filesUnder(dir)),
  ];
  for (const file of files) {
    // The name and the length before the bytes: no two trees hash alike by shifting bytes.
    const bytes = fs.readFileSync(path.join(ROOT, file));
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex').slice(0, 32);
}

/** Every file under a folder of the checkout, relative to it, in a fixed order. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(path.join(ROOT, dir))) return [];
  const files: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(rel));
    else if (entry.isFile()) files.push(rel);
  }
  return files.sort();
}

function prune(): void {
  const tarballs = fs
    .readdirSync(CACHE_DIR)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => ({ f, at: fs.statSync(path.join(CACHE_DIR, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const { f } of tarballs.slice(KEEP)) fs.rmSync(path.join(CACHE_DIR, f), { force: true });
}
