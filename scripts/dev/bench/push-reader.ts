/**
 * Child process of the host benchmark: a served reader on a file flash image of the given
 * size, alone in its process so its peak RSS (VmHWM) is the reader's own, not the client's.
 * Prints one JSON line ({ url, token }) once it listens; SIGTERM shuts it down.
 */
import { SystemClock } from '../../../firmware/foundation/clock';
import { serveReader } from '../../../firmware/profiles/serve';
import { testDrivers } from '../../../firmware/profiles/test';

async function main(): Promise<void> {
  const [dataDir, imageBytes] = process.argv.slice(2);
  const drivers = testDrivers({ clock: new SystemClock() });
  drivers.store = { dir: dataDir!, imageBytes: Number(imageBytes) };
  const served = await serveReader({ drivers, dataDir: dataDir!, apiPort: 0 });
  process.stdout.write(`${JSON.stringify({ url: served.api.url, token: served.token })}\n`);
  process.once('SIGTERM', () => {
    void served.shutdown().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
