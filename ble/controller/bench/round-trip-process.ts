/**
 * Runs measureRoundTrips in a process of its own and prints the samples as one JSON line:
 * bleno polls its socket on a 1 s timer it never clears, so the stacks must live in a
 * process that can simply exit.
 *   node -r ts-node/register/transpile-only ble/controller/bench/round-trip-process.ts fast 50
 */
import { TimingMode } from '../air';
import { measureRoundTrips } from './round-trip';

async function main(): Promise<void> {
  const [timing, count] = process.argv.slice(2);
  if (timing !== 'fast' && timing !== 'realistic')
    throw new Error('timing must be fast or realistic');
  const iterations = Number(count ?? 20);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error('iterations must be a positive integer');
  const samples = await measureRoundTrips({
    timing: timing as TimingMode,
    iterations,
    onSample: (i) => process.stderr.write(`ble ${timing}: ${i + 1}/${iterations}\n`),
  });
  process.stdout.write(`${JSON.stringify(samples)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
