import type { ReaderLog } from '../../firmware/foundation/log';

/**
 * What `reader-sim start` does once it is ready, for one reader or a site: stays up (even
 * with stdin closed, as in Docker, and no timer pending) until SIGINT or SIGTERM, then runs
 * `halt` and the shutdown steps one after another. Exit code 0, or 1 (logged) when a step fails.
 */
export function runUntilSignal(
  log: ReaderLog,
  halt: () => void,
  steps: ReadonlyArray<() => unknown>,
): Promise<number> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise<number>((done) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      clearInterval(keepAlive);
      halt();
      steps
        .reduce<Promise<unknown>>((before, step) => before.then(step), Promise.resolve())
        .then(
          () => done(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            done(1);
          },
        );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
