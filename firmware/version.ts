import fs from 'node:fs';
import path from 'node:path';

/**
 * The firmware version: the package version, found by walking up from this file so it
 * works from the TypeScript sources and from the compiled dist/ (the Docker image).
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'reader-sim' && pkg.version) return pkg.version;
    } catch {
      // No readable package.json here (or not JSON): keep walking up.
    }
    if (path.dirname(dir) === dir) return '0.0.0-unknown';
  }
}

export const FIRMWARE_VERSION = packageVersion();
