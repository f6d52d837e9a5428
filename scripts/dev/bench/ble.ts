import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { RoundTripSample } from '../../../ble/controller/bench/round-trip';
import { atMost, below, BenchSuite, percentile, rowsFor } from './suite';

const run = promisify(execFile);

/**
 * The stacks run in a child process (bleno never clears its 1 s device poll timer, so a
 * process that hosts it does not end by itself); the child prints its samples as JSON.
 */
async function samplesFor(
  timing: 'fast' | 'realistic',
  iterations: number,
): Promise<RoundTripSample[]> {
  const fromSource = __filename.endsWith('.ts');
  const script = path.join(
    __dirname,
    '..',
    '..',
    '..',
    'ble',
    'controller',
    'bench',
    `round-trip-process.${fromSource ? 'ts' : 'js'}`,
  );
  const args = [
    ...(fromSource ? ['-r', 'ts-node/register/transpile-only'] : []),
    script,
    timing,
    String(iterations),
  ];
  const { stdout } = await run(process.execPath, args, {
    cwd: path.join(__dirname, '..', '..', '..'),
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
  return JSON.parse(stdout) as RoundTripSample[];
}

export const ble: BenchSuite = {
  name: 'ble',
  summary: 'virtual BLE controller: connect + discover + write + notify, fast and realistic timing',
  async run({ quick, progress }) {
    const fastRuns = quick ? 10 : 100;
    const realRuns = quick ? 3 : 20;
    progress(`ble: ${fastRuns} round trips, fast timing`);
    const fast = await samplesFor('fast', fastRuns);
    progress(`ble: ${realRuns} round trips, realistic timing`);
    const real = await samplesFor('realistic', realRuns);

    const total = fast.map((s) => s.totalMs);
    const echo = fast.map((s) => s.echoMs);
    const realTotal = real.map((s) => s.totalMs);
    const floor = real.map((s) => s.radioMs);
    const overhead = real.map((s) => (100 * (s.totalMs - s.radioMs)) / s.radioMs);
    const note = '@stoprocent/bleno peripheral, @stoprocent/noble central, one process';
    return [
      row('fast: connect+discover+write+notify p50', percentile(total, 50), 'ms', {
        bounds: [below(15)],
        note: `n=${fastRuns}; ${note}`,
      }),
      row('fast: connect+discover+write+notify p99', percentile(total, 99), 'ms'),
      row('fast: write+notify on open link p50', percentile(echo, 50), 'ms'),
      row('realistic: connect+discover+write+notify p50', percentile(realTotal, 50), 'ms', {
        note: `n=${realRuns}; 100 ms advertising, 7.5 ms connection interval`,
      }),
      row('realistic: radio-model floor p50', percentile(floor, 50), 'ms', {
        note: 'advertising events, anchors, LE 1M airtime',
      }),
      row('realistic: overhead above floor p50', percentile(overhead, 50), '%', {
        bounds: [atMost(10)],
        note: 'host stacks + emulator + timer slop',
      }),
      row('realistic: overhead above floor p99', percentile(overhead, 99), '%'),
    ];
  },
};

const row = rowsFor('ble');
