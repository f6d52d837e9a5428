/**
 * Waiting on real time in tests, for effects across processes, sockets and real I/O (the
 * virtual clock cannot reach them). The wait ends as soon as the condition holds, so the
 * deadline is generous: a loaded machine may be seconds late, and only a condition that never
 * comes should fail. The error says what did not happen.
 */

/** Default deadline of a real-time wait (ms); jest's testTimeout (jest.config.js) is above it. */
export const WAIT_MS = 30_000;

/** Polls until `check` gives a truthy value and returns it. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = WAIT_MS,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Polls until `check` holds. */
export async function until(check: () => boolean | Promise<boolean>, ms = WAIT_MS): Promise<void> {
  await eventually(async () => (await check()) || undefined, ms);
}
