import fs from 'node:fs';
import path from 'node:path';

/**
 * The folder of the reader-sim package this file belongs to: the checkout (sources run one
 * level higher than dist/) or the installed package under a project's node_modules.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
      };
      if (pkg.name === 'reader-sim') return dir;
    } catch {
      // No readable package.json here: keep walking up.
    }
    if (path.dirname(dir) === dir) throw new Error(`no reader-sim package.json above ${from}`);
  }
}

/** The `reader-sim` command of this package, run with `node`. */
export function readerSimBin(): string {
  return path.join(packageRoot(), 'bin', 'reader-sim.js');
}
