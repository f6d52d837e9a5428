import type { FastifyBaseLogger } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import type { AirAccess } from '../../ble/controller';
import { startReaderRadio, type ReaderRadio } from '../../ble/reader-radio';
import { DEFAULT_GEOMETRY, FileFlash, MemoryFlash } from '../../storage';
import { IMAGE_FILE } from '../../storage/reader-store';
import type { Board } from '../board';
import type { FleetDirectory, FleetMember } from '../api/fleet';
import { HostLink } from '../api/host-link';
import {
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  isLoopback,
  startApi,
  type ApiServerOptions,
  type ApiTls,
  type RunningApi,
} from '../api/server';
import { loadOrCreateToken } from '../api/token';
import { claimDataDir, DataDirInUseError, liveHolder, READERS_DIR } from '../data-dir-lock';
import type { RelayDriver } from '../door';
import { SystemClock, type Clock } from '../foundation/clock';
import { SILENT_LOG, type ReaderLog } from '../foundation/log';
import type { RunningReader } from '../running-reader';
import { batteryBackedClock } from '../rtc';
import { powerOnBoard, type ReaderDrivers } from './drivers';
import type { Site, SiteReader } from './site';

/** Where a site's readers keep their data: DATA/readers/ID/ (flash image, RTC offset). */
export { READERS_DIR };

/**
 * A site reader's new flash image: 4 MiB (tens of thousands of credentials and the event
 * log). A thousand of the single reader's 64 MiB images would be 64 GB written at first boot.
 * An existing image keeps the size it was made with.
 */
export const SITE_IMAGE_BYTES = 4 * 1024 * 1024;

/** A site reader's in-memory flash part (benches, tests): 256 KiB, nothing on disk. */
const MEMORY_SECTORS = 64;

/**
 * Readers booting at once: while one mounts on the event loop, the others' images are made
 * and their boot writes synced on libuv's threads (one fdatasync after another would be
 * most of a thousand readers' boot).
 */
const BOOTS_IN_FLIGHT = 16;

export interface FleetOptions {
  site: Site;
  /** DATA: claimed whole (one lock for the process); each reader under DATA/readers/ID/. */
  dataDir: string;
  /**
   * file (default): DATA/readers/ID/flash.img, kept across restarts. memory: an in-memory
   * part per reader (benches): nothing is kept.
   */
  flash?: 'file' | 'memory';
  /** New file images' size (default SITE_IMAGE_BYTES). */
  imageBytes?: number;
  /** Each reader's clock (default: its battery-backed RTC under DATA/readers/ID/). */
  clockFor?: (reader: SiteReader) => Clock;
  /** The shared air every reader's GATT service joins at its position (none: no BLE). */
  air?: AirAccess;
  apiHost?: string;
  apiPort?: number;
  apiTls?: ApiTls;
  logger?: FastifyBaseLogger;
  log?: ReaderLog;
  /** Each reader's relay coil (default: a log line at the reader's logger). */
  relayFor?: (reader: SiteReader, log: ReaderLog) => RelayDriver;
  api?: Pick<ApiServerOptions, 'bodyLimit' | 'databaseBodyLimit'>;
  /**
   * After every boot of any reader (what it returns undoes it at that reader's power-off).
   * The board is given too: at the first boot `member.board` is not set yet.
   */
  onBoot?: (member: FleetMember, reader: RunningReader, board: Board) => (() => void) | void;
}

/** One reader of a served site: the API's view of it, and what the process holds for it. */
export interface SiteMember extends FleetMember {
  dir: string;
  radio?: ReaderRadio;
}

export interface ServedFleet {
  members: SiteMember[];
  member(id: string): SiteMember | undefined;
  api: RunningApi;
  token: string;
  /** Stops the API, then powers every reader off (relock, close its flash). */
  shutdown(): Promise<void>;
}

/** A BLE address per reader, from its index: c0:de:0b:XX:XX:XX (the single reader's is 0a). */
export function siteReaderAddress(index: number): string {
  const hex = (index + 1).toString(16).padStart(6, '0');
  return `c0:de:0b:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

/**
 * Powers on every reader of a site in this process and serves one host API in front of
 * them (per-reader routes under /api/v1/readers/ID, fleet routes beside them, the unscoped
 * paths those of the first reader). Nothing half-started is left on a failure: the readers
 * booted so far are powered off and the data directory is let go.
 */
export async function serveFleet(options: FleetOptions): Promise<ServedFleet> {
  const dataDir = path.resolve(options.dataDir);
  const lock = claimDataDir(dataDir);
  const members: SiteMember[] = [];
  const log = options.log ?? SILENT_LOG;
  const release = async () => {
    for (const m of members) {
      await m.board.shutdown().catch(() => undefined);
      m.radio?.close();
    }
    lock.release();
  };
  try {
    if (fs.existsSync(path.join(dataDir, IMAGE_FILE))) {
      // A one-reader image: a site neither uses nor moves it (its readers are in readers/).
      log.warn(
        { image: path.join(dataDir, IMAGE_FILE) },
        'this data directory holds a one-reader flash image; the site leaves it as it is',
      );
    }
    const readersDir = path.join(dataDir, READERS_DIR);
    fs.mkdirSync(readersDir, { recursive: true, mode: 0o700 });
    // Every reader's bleno and clock listens on process-wide emitters: a site has many.
    raiseListenerLimit(process, options.site.readers.length);
    const booted = await inFlight(options.site.readers, BOOTS_IN_FLIGHT, (spec, index) =>
      powerOnMember(options, spec, index, readersDir, log),
    );
    // Site order, whatever order they booted in; those that booted are released on a failure.
    members.push(...booted.done.filter((m): m is SiteMember => m !== undefined));
    if (booted.failure) throw booted.failure.error;
    const byId = new Map(members.map((m) => [m.id, m]));
    const directory: FleetDirectory = { members: () => members, member: (id) => byId.get(id) };
    const first = members[0]!;
    const token = loadOrCreateToken(dataDir);
    const host = options.apiHost ?? DEFAULT_API_HOST;
    const port = options.apiPort ?? DEFAULT_API_PORT;
    let api: RunningApi;
    try {
      api = await startApi({
        board: first.board,
        link: first.link,
        ble: first.ble,
        fleet: directory,
        token,
        clock: first.board.reader()?.clock ?? new SystemClock(),
        host,
        port,
        logger: options.logger,
        tls: options.apiTls,
        ...options.api,
      });
    } catch (err) {
      throw new Error(`host API cannot start on ${host}:${port}: ${(err as Error).message}`);
    }
    if (!api.tls && !isLoopback(api.address)) {
      options.logger?.warn(
        { address: api.address, port: api.port },
        `host API listens on ${api.address} (not loopback) WITHOUT TLS: the token and database cross the network in clear text`,
      );
    }
    return {
      members,
      member: (id) => byId.get(id),
      api,
      token,
      async shutdown() {
        await api.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

async function powerOnMember(
  options: FleetOptions,
  spec: SiteReader,
  index: number,
  readersDir: string,
  processLog: ReaderLog,
): Promise<SiteMember> {
  const dir = path.join(readersDir, spec.id);
  // A one-reader process started on this folder before the site: it has the image open.
  const holder = liveHolder(dir);
  if (holder !== undefined) throw new DataDirInUseError(dir, holder);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = childLog(processLog, spec.id);
  const clock = options.clockFor?.(spec) ?? readerClock(dir, log);
  const memory =
    options.flash === 'memory'
      ? new MemoryFlash({ geometry: { sectorCount: MEMORY_SECTORS } })
      : undefined;
  const imageBytes = options.imageBytes ?? SITE_IMAGE_BYTES;
  if (!memory) {
    await FileFlash.prepare(path.join(dir, IMAGE_FILE), {
      geometry: { sectorCount: Math.floor(imageBytes / DEFAULT_GEOMETRY.sectorSize) },
    });
  }
  // Each boot's writes (mount repair, config, the boot event, the site's seed) are made
  // durable by one fdatasync off the event loop before the reader is seen (settle below).
  let releaseSyncs: (() => Promise<void>) | undefined;
  const drivers: ReaderDrivers = {
    clock,
    store: memory
      ? { device: memory }
      : { dir, imageBytes, holdSyncs: (release) => (releaseSyncs = release) },
    // The LED is read back from the firmware (status, watchOutputs): no console per reader.
    indicatorDrivers: [],
    relay: options.relayFor?.(spec, log) ?? {
      set: (on) => log.info({ relay: on ? 'energized' : 'released' }, 'relay'),
    },
    readerId: spec.id,
    log,
  };
  const radio = options.air
    ? await startReaderRadio({
        air: options.air,
        address: siteReaderAddress(index),
        position: spec.position,
        log,
      })
    : undefined;
  const member: SiteMember = {
    id: spec.id,
    name: spec.name,
    accessPoint: spec.accessPoint,
    position: spec.position,
    dir,
    link: new HostLink(() => clock.now()),
    ble: radio?.gatt,
    radio,
    board: undefined as unknown as Board,
  };
  try {
    member.board = await powerOnBoard(drivers, {
      settle: async (reader) => {
        setUpReader(reader, spec, log);
        const release = releaseSyncs;
        releaseSyncs = undefined;
        await release?.();
      },
      onBoot: (reader, board) => {
        radio?.gatt.attach(reader);
        const undo = options.onBoot?.(member, reader, board);
        return () => {
          radio?.gatt.detach();
          undo?.();
        };
      },
      onBootError: (err) => log.error({ err }, 'boot failed; power-cycle to retry'),
    });
  } catch (err) {
    radio?.close();
    throw err;
  }
  const state = member.board.state();
  if (state.state === 'failed') {
    await member.board.shutdown();
    radio?.close();
    throw new Error(`reader ${spec.id} did not boot: ${state.error}`);
  }
  if (!memory) tightenImage(dir);
  return member;
}

/**
 * Runs `work` on every item with at most `limit` running at once; results in item order. On
 * a failure no new item starts, those running finish (their results kept, to be undone).
 */
async function inFlight<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<{ done: Array<R | undefined>; failure?: { error: unknown } }> {
  const done: Array<R | undefined> = new Array(items.length);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const lane = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        done[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failure ? { done, failure } : { done };
}

/** The site file is the reader's installation sheet: its access point, and its seed database. */
function setUpReader(reader: RunningReader, spec: SiteReader, log: ReaderLog): void {
  if (reader.config.get().accessPointId !== spec.accessPoint) {
    reader.config.update({ accessPointId: spec.accessPoint });
  }
  // Seeds an empty database only (version 0): a host's push is never overwritten.
  if (spec.seed && reader.store.database.version() === 0) {
    const version = reader.replaceDatabase(spec.seed);
    log.info({ databaseVersion: version }, 'seeded from the site file');
  }
}

function readerClock(dir: string, log: ReaderLog): Clock {
  const { clock, problem } = batteryBackedClock(dir);
  if (problem) log.warn({}, problem);
  return clock;
}

function tightenImage(dir: string): void {
  const image = path.join(dir, IMAGE_FILE);
  if (fs.existsSync(image)) fs.chmodSync(image, 0o600);
}

function childLog(log: ReaderLog, reader: string): ReaderLog {
  const child = (log as ReaderLog & { child?: (b: object) => ReaderLog }).child;
  return child ? child.call(log, { reader }) : log;
}

function raiseListenerLimit(emitter: NodeJS.EventEmitter, readers: number): void {
  const limit = emitter.getMaxListeners();
  if (limit !== 0 && limit < readers + 10) emitter.setMaxListeners(readers + 10);
}
