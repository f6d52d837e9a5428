/**
 * Waiting on real time in tests, for effects across processes, sockets and real I/O (the
 * virtual clock cannot reach them). A small budget; the error says what did not happen.
 */

/** Polls until `check` gives a truthy value and returns it. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 2000,
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
export async function until(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  await eventually(async () => (await check()) || undefined, ms);
}
