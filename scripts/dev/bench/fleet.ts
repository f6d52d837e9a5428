import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeCbor } from '../../../ble/cbor';
import { Air, createAir } from '../../../ble/controller';
import { signSign1 } from '../../../ble/cose';
import { parseCredentialWrite, proofOf } from '../../../ble/credential-check';
import { createDeviceKey, type DeviceKey } from '../../../ble/device-key';
import { startPhoneRadio } from '../../../ble/phone-radio';
import { parsePresentation } from '../../../firmware/foundation/presentation';
import { serveFleet, type ServedFleet, type SiteMember } from '../../../firmware/profiles/fleet';
import { generatedSite } from '../../../firmware/profiles/site';
import { onePhoneDatabase } from '../../../firmware/profiles/test';
import type { RunningReader } from '../../../firmware/running-reader';
import { above, below, BenchRow, BenchSuite, percentile, rowsFor } from './suite';
import { fleetMqttRows } from './fleet-mqtt';

const row = rowsFor('fleet');
const MB = 1024 * 1024;

/**
 * Many readers in this one process (firmware/profiles/fleet.ts), as `start --readers N`
 * serves them: each its own store, clock, LED engine, door, GATT service on one air, and the
 * one host API in front. Figures: boot time and memory per reader, presentations decided per
 * second across the fleet with the signature checked, and a phone's time to green on one
 * reader while the rest of the fleet is busy deciding.
 */
export const fleet: BenchSuite = {
  name: 'fleet',
  summary: 'readers per process: boot, RSS per reader, presentations/s, phone-to-green under load',
  async run({ quick, progress: say }) {
    const began = performance.now();
    const progress = (line: string) =>
      say(`${line} (${((performance.now() - began) / 1000).toFixed(1)} s)`);
    const readers = quick ? 40 : 1000;
    // A new file image is sparse (format 2) and boots are synced side by side: the full run
    // boots as many readers from files as from memory, so the rows carry their target.
    const fileReaders = quick ? 10 : 1000;
    const rows: BenchRow[] = [];
    const key = createDeviceKey('fleet-phone');

    progress(`fleet: ${fileReaders} readers, file flash images`);
    rows.push(...(await bootFigures(fileReaders, 'file', key)).rows);

    progress(`fleet: ${readers} readers, in-memory flash, BLE on one air`);
    const booted = await bootFigures(readers, 'memory', key, true);
    rows.push(...booted.rows);
    const served = booted.fleet!;
    try {
      const durationMs = quick ? 1000 : 5000;
      // Steady state, as a fleet runs for hours: the first presentations also pay for
      // compiling the decision path, which a one-second window would mostly measure.
      const warmUpMs = quick ? 500 : 2000;
      progress(`fleet: presentations across ${readers} readers for ${durationMs} ms`);
      const load = new PresentationLoad(served.members, key);
      await load.runFor(warmUpMs);
      const rate = await load.runFor(durationMs);
      rows.push(
        row('presentations decided per CPU second', rate.perCpu, '/s', {
          bounds: [above(5000)],
          note:
            `one event loop = one core; each: COSE_Sign1 parse + ECDSA P-256 verify + decision + ` +
            `event committed to the reader's flash; round robin over ${readers} readers, n=${rate.decided} ` +
            `after ${warmUpMs} ms of the same load untimed; the fleet's idle work (timers) included`,
        }),
        row('ES256 verify alone per CPU second', verifyCeiling(key, quick ? 500 : 3000), '/s', {
          note: "the ceiling the row above is under: Node's crypto.verify on this machine",
        }),
        row('presentations decided per wall second', rate.wall, '/s', {
          note: `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores while measured`,
        }),
      );
      const target = served.members[Math.min(899, served.members.length - 1)]!;
      const runs = quick ? 5 : 40;
      progress(`fleet: ${runs} phone unlocks at ${target.id} under load`);
      const greens = await phoneUnderLoad(booted.air!, target, key, runs, load);
      rows.push(
        row(`phone-to-green at ${target.id} under load p50`, percentile(greens.ms, 50), 'ms', {
          note: `n=${runs}; fast air timing; the fleet kept deciding ${Math.round(greens.loadRate)}/s meanwhile`,
        }),
        row(`phone-to-green at ${target.id} under load p99`, percentile(greens.ms, 99), 'ms', {
          note: `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
        }),
      );
      rows.push(...(await fleetMqttRows(served.members, { quick, progress })));
    } finally {
      await served.shutdown();
      booted.cleanup();
    }
    return rows;
  },
};

/** Boots `count` readers; the figures, and the fleet itself when `keep`. */
async function bootFigures(
  count: number,
  flash: 'file' | 'memory',
  key: DeviceKey,
  keep = false,
): Promise<{ rows: BenchRow[]; fleet?: ServedFleet; air?: Air; cleanup: () => void }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-bench-fleet-'));
  const cleanup = () => fs.rmSync(dataDir, { recursive: true, force: true });
  const air = keep ? createAir({ timing: 'fast' }) : undefined;
  settle();
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const bootCpu = process.cpuUsage();
  const served = await serveFleet({
    site: generatedSite(count),
    dataDir,
    flash,
    air,
    apiPort: 0,
  });
  const bootMs = performance.now() - start;
  const bootCpuS = cpuSeconds(process.cpuUsage(bootCpu));
  const onDisk = flash === 'file' ? diskBytes(path.join(dataDir, 'readers')) : 0;
  for (const m of served.members) m.board.reader()!.replaceDatabase(onePhoneDatabase(key));
  settle();
  const rss = process.memoryUsage().rss;
  const perReader = (rss - rssBefore) / count;
  const what =
    flash === 'file'
      ? `file images (${count} x 4 MiB sparse under DATA/readers/ID, ${(onDisk / MB).toFixed(1)} MB on disk after boot, page cache not in RSS)`
      : 'in-memory flash (256 KiB part each, in RSS)';
  const label = `${count} readers, ${flash === 'file' ? 'file images' : 'memory flash + BLE'}`;
  const rows = [
    row(`boot ${label}`, bootMs / 1000, 's', {
      bounds: count >= 1000 ? [below(60)] : [],
      note:
        `${what}; first boot (makes each image); ${(bootMs / count).toFixed(1)} ms per reader; ` +
        `${bootCpuS.toFixed(1)} CPU s, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
    }),
    row(`process RSS, ${label}`, rss / MB, 'MB', {
      bounds: count >= 1000 ? [below(2048)] : [],
      note: 'after boot and a one-phone database on each reader',
    }),
    row(`RSS per reader, ${label}`, perReader / MB, 'MB', {
      note: `(RSS after - before) / ${count}${air ? '; bleno GATT service on one air each' : ''}`,
    }),
  ];
  if (keep) {
    // What the fleet costs doing nothing: each reader's advertising timer, clocks, schedules.
    const cpu = process.cpuUsage();
    const idleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const used = process.cpuUsage(cpu);
    const share = (used.user + used.system) / 1000 / (performance.now() - idleStart);
    rows.push(
      row(`idle CPU, ${label}`, share * 100, '% of a core', {
        note: 'over 3 s with no presentation and no phone on the air',
      }),
    );
    return { rows, fleet: served, air, cleanup };
  }
  await served.shutdown();
  if (flash === 'file') {
    // A pod restart: every image is there already, each reader mounts its own.
    const again = performance.now();
    const restartCpu = process.cpuUsage();
    const restarted = await serveFleet({ site: generatedSite(count), dataDir, apiPort: 0 });
    const restartMs = performance.now() - again;
    const restartCpuS = cpuSeconds(process.cpuUsage(restartCpu));
    await restarted.shutdown();
    rows.splice(
      1,
      0,
      row(`restart ${label}`, restartMs / 1000, 's', {
        bounds: count >= 1000 ? [below(60)] : [],
        note:
          `mounts the ${count} images made above; ${(restartMs / count).toFixed(1)} ms per reader; ` +
          `${restartCpuS.toFixed(1)} CPU s, load average ${os.loadavg()[0]!.toFixed(1)}`,
      }),
    );
  }
  cleanup();
  return { rows, cleanup: () => undefined };
}

function cpuSeconds(used: NodeJS.CpuUsage): number {
  return (used.user + used.system) / 1e6;
}

/** Bytes the files under dir take on disk (allocated blocks: a sparse image's holes are free). */
function diskBytes(dir: string): number {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += fs.statSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return bytes;
}

/** Signature checks alone, per CPU second: the same parse and verify as each presentation. */
function verifyCeiling(key: DeviceKey, n: number): number {
  const bytes = signSign1(
    encodeCbor(
      new Map<string, unknown>([
        ['deviceId', key.deviceId],
        ['readerId', 'reader-1'],
        ['nonce', Buffer.alloc(16, 7)],
        ['ts', Date.now()],
      ]),
    ),
    key.privateKey,
  );
  const enrolledKey = onePhoneDatabase(key).credentials[0]!.publicKey!;
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const proof = proofOf(parseCredentialWrite(bytes)!, {
      enrolledKey,
      nonceFresh: true,
      readerId: 'reader-1',
      now: Date.now(),
      skewMs: 60_000,
    });
    if (!proof.signatureValid) throw new Error('bench signature did not verify');
  }
  const used = process.cpuUsage(cpu);
  return (n * 1e6) / (used.user + used.system);
}

function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Presentations as the GATT service hands them over, minus the radio: each reader gets the
 * phone's signed credential (signed once per reader, before timing), checks it (CBOR parse,
 * signature over its own reader id), decides and commits the event.
 */
class PresentationLoad {
  private readonly signed: Array<{ reader: () => RunningReader | undefined; bytes: Buffer }>;
  decided = 0;

  constructor(members: SiteMember[], key: DeviceKey) {
    this.signed = members.map((m) => ({
      reader: () => m.board.reader(),
      bytes: signSign1(
        encodeCbor(
          new Map<string, unknown>([
            ['deviceId', key.deviceId],
            ['readerId', m.id],
            ['nonce', Buffer.alloc(16, 7)],
            ['ts', Date.now()],
          ]),
        ),
        key.privateKey,
      ),
    }));
  }

  /** Decides presentations round robin until stopped, yielding to the event loop between batches. */
  async loop(stopAt: () => boolean): Promise<void> {
    let i = 0;
    while (!stopAt()) {
      const batch: Array<Promise<unknown>> = [];
      for (let n = 0; n < 32; n++, i++) {
        const { reader, bytes } = this.signed[i % this.signed.length]!;
        const firmware = reader();
        if (!firmware) continue;
        batch.push(this.present(firmware, bytes));
      }
      await Promise.all(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Decided per second of wall time, and per second of this process's CPU time: on a machine
   * shared with other work the second is what one core of its own would do.
   */
  async runFor(ms: number): Promise<{ wall: number; perCpu: number; decided: number }> {
    const before = this.decided;
    const start = performance.now();
    const cpu = process.cpuUsage();
    await this.loop(() => performance.now() - start >= ms);
    const used = process.cpuUsage(cpu);
    const decided = this.decided - before;
    return {
      wall: (decided * 1000) / (performance.now() - start),
      perCpu: (decided * 1e6) / (used.user + used.system),
      decided,
    };
  }

  private async present(firmware: RunningReader, bytes: Buffer): Promise<void> {
    const parsed = parseCredentialWrite(bytes);
    if (!parsed) throw new Error('bench credential did not parse');
    const cfg = firmware.config.get();
    const enrolled = firmware.store.database.findCredential('mobile', parsed.payload.deviceId);
    const now = firmware.clock.now();
    const proof = proofOf(parsed, {
      enrolledKey: enrolled?.publicKey ?? '',
      // The GATT session's nonce bookkeeping is a map lookup; the radio is left out here.
      nonceFresh: true,
      readerId: cfg.readerId,
      now,
      skewMs: 10 * 60_000,
    });
    const { decision } = await firmware.reader.present(
      parsePresentation({
        kind: 'mobile',
        value: parsed.payload.deviceId,
        source: 'ble',
        profile: 'reader-sim',
        accessPointId: cfg.accessPointId,
        at: now,
        proof,
      }),
    );
    if (decision.outcome !== 'grant')
      throw new Error(`bench presentation: ${JSON.stringify(decision)}`);
    this.decided++;
  }
}

/** Whole BLE unlocks at one reader while the load keeps every other reader deciding. */
async function phoneUnderLoad(
  air: Air,
  target: SiteMember,
  key: DeviceKey,
  runs: number,
  load: PresentationLoad,
): Promise<{ ms: number[]; loadRate: number }> {
  const firmware = target.board.reader()!;
  firmware.config.update({ blePhoneCooldownMs: 0 });
  let green: (() => void) | undefined;
  let last = '';
  const unwatch = firmware.watchOutputs((change) => {
    if (change.kind !== 'led') return;
    if (change.color === 'green' && last !== 'green') green?.();
    last = change.color;
  });
  const phone = startPhoneRadio({
    air,
    key,
    position: { x: target.position.x + 1, y: 1 },
  });
  let done = false;
  const decidedBefore = load.decided;
  const loadStart = performance.now();
  const background = load.loop(() => done);
  const ms: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      let at: number | undefined;
      green = () => (at ??= performance.now());
      const result = await phone.phone.unlock({ readerId: target.id, timeoutMs: 30_000 });
      green = undefined;
      if (result.status !== 'granted' || at === undefined) {
        throw new Error(`bench unlock at ${target.id}: ${JSON.stringify(result)}`);
      }
      ms.push(at - start);
    }
  } finally {
    done = true;
    await background;
    phone.close();
    unwatch();
  }
  return {
    ms,
    loadRate: ((load.decided - decidedBefore) * 1000) / (performance.now() - loadStart),
  };
}
