import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, transpiledTree, writeIfChanged } from '../transpiled';

export { ROOT };

/** How the soak starts `reader-sim start`: the program and the arguments before `start`. */
export interface ReaderLauncher {
  command: string;
  args: string[];
  /** What it is, for the report: compiled JavaScript or TypeScript through ts-node. */
  mode: 'compiled' | 'ts-node' | 'dist';
}

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
  const entry = path.join(transpiledTree(), 'reader-sim.js');
  writeIfChanged(
    entry,
    "'use strict';\n// Written by scripts/dev/soak/reader-build.ts: the transpiled reader-sim CLI.\n" +
      "require('./scripts/cli.js').main(process.argv.slice(2));\n",
  );
  return { command: process.execPath, args: [entry], mode: 'compiled' };
}
