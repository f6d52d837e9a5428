import { MemoryFlash, openStore, ReaderStore } from '../../storage';
import { examineDevice, ImageReport } from '../../storage/fsck';
import { mountForInspection } from '../../storage/reader-store';
import { content, credential, observe } from './workload';

/** A part big enough for a few thousand credentials; snapshots every 16 KiB of log. */
function device(): MemoryFlash {
  return new MemoryFlash({ geometry: { sectorCount: 256 } });
}
function open(d: MemoryFlash, checkpointBytes = 16384): ReaderStore {
  return openStore({ device: d, checkpointBytes });
}

/** A push, then grants and events: a snapshot falls somewhere in the middle. */
function busyStore(d: MemoryFlash): ReaderStore {
  const s = open(d);
  s.database.replace({
    ...content(0, 'v1'),
    credentials: Array.from({ length: 2000 }, (_, i) => credential(i + 1)),
  });
  for (let i = 0; i < 150; i++) {
    s.recordGrant({ ts: i, type: 'access', credentialId: `c${(i % 40) + 1}` }, `c${(i % 40) + 1}`);
  }
  s.events.ack(100);
  s.config.set({ unlockMs: 4000 });
  return s;
}

function fsck(d: MemoryFlash): ImageReport {
  const report: ImageReport = { image: 'memory', repairs: [], problems: [] };
  examineDevice(d, report);
  return report;
}

describe('checkpoints (index snapshots)', () => {
  it('mount loads the newest snapshot, replays only what follows it, and reads what a full replay reads', () => {
    const d = device();
    const state = observe(busyStore(d));
    const again = open(d);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    const full = mountForInspection(d, { checkpoint: false });
    expect(full.report.fromCheckpoint).toBe(false);
    expect(again.mountReport.recordsReplayed).toBeLessThan(full.report.recordsReplayed / 4);
    expect(observe(again)).toBe(state);
    expect(mountForInspection(d).index.describe()).toBe(full.index.describe());
    expect(fsck(d).problems).toEqual([]);
    expect(fsck(d).checkpoint?.used).toBe(true);
    // The store keeps working from the loaded state, and a later mount agrees.
    again.database.debit('c7');
    expect(observe(open(d))).toBe(observe(again));
  });

  it('checkpointBytes: Infinity writes none (mount replays everything); bad values are refused', () => {
    const d = device();
    const s = open(d, Infinity);
    s.database.replace(content(20, 'v1'));
    expect(open(d, Infinity).mountReport.fromCheckpoint).toBe(false);
    expect(() => openStore({ device: d, checkpointBytes: -1 })).toThrow(/checkpointBytes/);
    expect(() => openStore({ device: d, checkpointBytes: NaN })).toThrow(/checkpointBytes/);
  });

  it('a snapshot that disagrees with the log is never trusted: mount replays the whole log', () => {
    const forgeries: Array<[string, (s: ReturnType<ReaderStoreIndex['snapshot']>) => void]> = [
      ['a database version that is not on flash', (s) => (s.version += 1)],
      ['an acknowledgement that is not on flash', (s) => (s.ackedSeq -= 1)],
      [
        'an event in an erased sector',
        (s) => (s.events[1] = (s.events[1]! % 4096) + 4096 * 250), // never used by this log
      ],
    ];
    for (const [what, forge] of forgeries) {
      const d = device();
      const state = observe(busyStore(d));
      const { log, index } = mountForInspection(d);
      expect(
        log.writeCheckpoint(() => {
          const s = index.snapshot();
          forge(s);
          return s;
        }),
      ).toBe(true);
      const again = open(d);
      expect({ what, fromCheckpoint: again.mountReport.fromCheckpoint }).toEqual({
        what,
        fromCheckpoint: false,
      });
      expect(again.mountReport.notes.map((n) => n.message).join('\n')).toMatch(
        /checkpoint not trusted/,
      );
      expect(observe(again)).toBe(state);
    }
  });
});

type ReaderStoreIndex = ReturnType<typeof mountForInspection>['index'];
