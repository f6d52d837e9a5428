import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SystemClock } from '../../../firmware/foundation/clock';
import { serveReader } from '../../../firmware/profiles/serve';
import { testDrivers } from '../../../firmware/profiles/test';
import { ROOT, transpiledTree } from '../transpiled';
import { below, percentile, rowsFor, type BenchRow, type BenchSuite } from './suite';

const row = rowsFor('cli');
const exec = promisify(execFile);

/** Where a team's `reader-sim` answers: what a new user waits for on every command. */
const TARGET_MS = 500;
/** An installed package to measure instead of the compiled layout this suite makes. */
export const CLI_PACKAGE_ENV = 'BENCH_CLI_PACKAGE';

/**
 * An installed package's layout (package.json, bin/, compiled dist/, no TypeScript sources)
 * built from this checkout: dist/ is the transpiled tree, node_modules the checkout's.
 * Returns its bin/reader-sim.js and the cleanup.
 */
function installedLayout(): { bin: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cli-'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.symlinkSync(transpiledTree(), path.join(dir, 'dist'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return {
    bin: path.join(dir, 'bin', 'reader-sim.js'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Wall time of each run of `node BIN ...args`, in milliseconds; a failed run stops the suite. */
async function wallTimes(bin: string, args: string[], runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await exec(process.execPath, [bin, ...args], { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(`reader-sim ${args.join(' ')}: ${err.message}`);
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

export const cli: BenchSuite = {
  name: 'cli',
  summary: `reader-sim --help and host status wall time from the installed package (${CLI_PACKAGE_ENV}=DIR: that install)`,
  async run({ quick, progress }): Promise<BenchRow[]> {
    const runs = quick ? 3 : 10;
    const given = process.env[CLI_PACKAGE_ENV];
    const layout = given
      ? { bin: path.join(given, 'bin', 'reader-sim.js'), cleanup: () => undefined }
      : installedLayout();
    const where = given ? `install at ${given}` : 'compiled install layout (no sources)';
    // A reader for host status to ask: the test profile on the system clock, in this process.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cli-data-'));
    const served = await serveReader({
      drivers: testDrivers({ clock: new SystemClock() }),
      dataDir,
      apiPort: 0,
    });
    try {
      progress(`cli: reader-sim --help x${runs} (${where})`);
      const help = await wallTimes(layout.bin, ['--help'], runs);
      progress(`cli: reader-sim host status x${runs}`);
      const status = await wallTimes(
        layout.bin,
        ['host', 'status', '--url', served.api.url, '--data', dataDir, '--json'],
        runs,
      );
      const note = `median of ${runs} runs, ${where}; p100 ${[help, status].map((t) => percentile(t, 100).toFixed(0)).join(' / ')} ms`;
      return [
        row('reader-sim --help', percentile(help, 50), 'ms', { bounds: [below(TARGET_MS)], note }),
        row('reader-sim host status', percentile(status, 50), 'ms', {
          bounds: [below(TARGET_MS)],
          note,
        }),
      ];
    } finally {
      await served.shutdown();
      fs.rmSync(dataDir, { recursive: true, force: true });
      layout.cleanup();
    }
  },
};
