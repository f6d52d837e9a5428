/**
 * A site boots its readers side by side on file images: each reader's boot writes (config,
 * the boot event, the site's seed) are made durable by one fdatasync off the event loop, and
 * the reader is seen (radio, API, onBoot) only once that sync has completed. The syncs are
 * held here, at the file system call, to see what the fleet does while they are in flight.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimDataDir } from '../../firmware/data-dir-lock';
import { serveFleet, type ServedFleet } from '../../firmware/profiles/fleet';
import { generatedSite } from '../../firmware/profiles/site';
import { until } from '../poll';

type Done = (err: NodeJS.ErrnoException | null) => void;

let dataDir: string;
let held: Array<{ fd: number; done: Done }>;
let syncs: jest.SpyInstance;
const realFdatasync = fs.fdatasync;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-boot-'));
  held = [];
  syncs = jest
    .spyOn(fs, 'fdatasync')
    .mockImplementation(((fd: number, done: Done) => held.push({ fd, done })) as never);
});
afterEach(() => {
  syncs.mockRestore();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The image file of each held sync (by inode), in the order they were asked for. */
function heldImages(ids: string[]): string[] {
  const byInode = new Map(
    ids.map((id) => [fs.statSync(path.join(dataDir, 'readers', id, 'flash.img')).ino, id]),
  );
  return held.map(({ fd }) => byInode.get(fs.fstatSync(fd).ino) ?? `fd ${fd}: not an image`);
}

function release(fail?: (fd: number) => NodeJS.ErrnoException | undefined): void {
  for (const { fd, done } of held.splice(0)) {
    const err = fail?.(fd);
    if (err) done(err);
    else realFdatasync(fd, done);
  }
}

describe('a site booting on file images', () => {
  const site = generatedSite(3);
  const ids = site.readers.map((r) => r.id);

  it('shows no reader before its boot writes are durable, at first boot and at a restart', async () => {
    for (const round of ['first boot', 'restart']) {
      const seen: string[] = [];
      const serving = serveFleet({
        site,
        dataDir,
        apiPort: 0,
        onBoot: (member) => void seen.push(member.id),
      });
      let served: ServedFleet | undefined;
      void serving.then((s) => (served = s));
      await until(() => held.length === ids.length);
      // Every reader has booted and asked for its one sync; none is seen yet.
      expect(heldImages(ids).sort()).toEqual(ids);
      expect(seen).toEqual([]);
      expect(served).toBeUndefined();
      release();
      const fleet = await serving;
      try {
        expect(seen.sort()).toEqual(ids);
        for (const m of fleet.members) {
          const events = m.board.reader()!.store.events.list(0, 100);
          const boots = events.filter((e) => e.type === 'system' && e.detail?.action === 'boot');
          expect({ round, reader: m.id, boots: boots.length }).toEqual({
            round,
            reader: m.id,
            boots: round === 'first boot' ? 1 : 2,
          });
          expect(m.board.reader()!.config.get().accessPointId).toBe(
            site.readers.find((r) => r.id === m.id)!.accessPoint,
          );
        }
        // Once running, a write syncs on its own again (no sync is left held).
        fleet.members[0]!.board.reader()!.store.events.append({ ts: 1, type: 'door' });
        expect(held).toEqual([]);
      } finally {
        await fleet.shutdown();
      }
    }
  });

  it('fails the start when a reader’s boot sync fails, leaving nothing running', async () => {
    const serving = serveFleet({ site, dataDir, apiPort: 0 });
    const outcome = serving.then(
      () => 'started',
      (err: Error) => err.message,
    );
    await until(() => held.length === ids.length);
    const broken = held[1]!.fd;
    release((fd) =>
      fd === broken
        ? Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
        : undefined,
    );
    expect(await outcome).toMatch(/did not boot: EIO/);
    // The data directory is let go: every reader that booted was powered off.
    claimDataDir(dataDir).release();
  });
});
