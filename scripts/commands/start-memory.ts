import v8 from 'node:v8';

/**
 * The reader process's young generation (V8's new space, where short-lived objects are
 * born) stays at the size it starts with: two semi-spaces of 1 MiB. V8 otherwise doubles
 * them, up to 16 MiB each, whenever enough objects survive its scavenges, and gives nothing
 * back while the process runs (only a memory-reducing collection shrinks them, and an idle
 * reader collects nothing): loading the reader's modules grows them to 8 MiB each, and so
 * does a mount of a million credentials; the lookups that follow then bump through all of
 * it, so ~16 MiB stay in the RSS for the life of the reader. Held at 1 MiB (issue 18, the
 * bench's probe at 1M after 100k lookups): RSS ~201 -> ~187 MB, lookup p50 and p99 no worse
 * (a lookup's garbage stays in cache), a scavenge every ~2,500 lookups instead of every
 * ~18,000 (each a fraction of a millisecond); `reader-sim start` on that image, just booted:
 * 155 -> 129-135 MB. The price is paid by a full push in this process: more scavenges, ~1 s
 * more collection (~+10-20 % CPU) at a million credentials.
 *
 * `--max-semi-space-size` says the same but counts only when node starts (a flag on every
 * launcher: Docker, systemd, npm's bin link, the soak); the growth factor is read at each
 * growth, so the process sets it for itself, before its modules load. Under ts-node (a
 * checkout's bin/reader-sim.js) the compiler has grown it by then, and holding it from the
 * process's first line there costs more than it saves (a reader just booted: 178 -> 195 MB,
 * the compiler's garbage promoted instead of dying young), so a checkout is left as it is.
 */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** Bytes the young generation spans now, both semi-spaces (what holdYoungGeneration() holds). */
export function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}
