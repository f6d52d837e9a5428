import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectAir } from '../../../ble/controller';
import { startPhoneRadio } from '../../../ble/phone-radio';
import { rawDataOf } from '../../../ble/device-key';
import { HostClient } from '../../../firmware/api/client';
import { TOKEN_FILE } from '../../../firmware/api/token';
import { seededRandom } from '../../../firmware/foundation/random';
import { openStore } from '../../../storage';
import { buildFixture, fullContent, SoakFixture } from './fixture';
import { Ledger, Violation } from './ledger';
import { Load, LoadCounters, newCounters } from './load';
import { readerLauncher, ReaderLauncher } from './reader-build';
import { ReaderProcess } from './reader-process';
import { CheckCounts, checkAfterKill, noChecks, SOAK_CONFIG } from './verify';

export type { Violation } from './ledger';

export interface SoakOptions {
  /** kill -9 this many times (default 50). */
  kills?: number;
  /** Keep killing until this many seconds have passed (and at least `kills` kills). */
  durationSeconds?: number;
  /** Load window per cycle in seconds; the kill lands at a seeded moment in it (default 3). */
  seconds?: number;
  phones?: number;
  badges?: number;
  /** Users without credentials here (the rest of the site) in every full push (default 300). */
  siteUsers?: number;
  /** Badge presenters at once. */
  badgeWorkers?: number;
  seed?: number;
  /** A fresh data directory (default: a temporary one, removed at the end unless keep). */
  dataDir?: string;
  keep?: boolean;
  /** Size of the flash image the soak creates: small enough that collection runs under load. */
  imageMiB?: number;
  /** Share of kills that land during the boot (mount, repair) instead of under load. */
  bootKills?: number;
  /**
   * No kill under load before this many access decisions were reported in the window
   * (default 0): the kill waits for them on the reports, up to LOAD_DEADLINE_MS, so a
   * slow machine stretches the window instead of killing a reader that has decided nothing.
   */
  minDecisions?: number;
  /** Likewise: no kill under load before this many pushes were acknowledged in the window. */
  minPushes?: number;
  /** Run the reader through bin/reader-sim.js (ts-node) instead of the transpiled cache. */
  tsNode?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface CycleFigures {
  cycle: number;
  /** 'load': killed under load; 'boot': killed while booting. */
  phase: 'load' | 'boot';
  bootMs: number;
  loadMs: number;
  /** Access decisions (grant + deny events) written in the cycle. */
  decisions: number;
  grants: number;
  counters: LoadCounters;
  checked: CheckCounts;
}

export interface SoakReport {
  seed: number;
  reader: ReaderLauncher['mode'];
  imageMiB: number;
  phones: number;
  badges: number;
  kills: number;
  /** Kills after which every check ran (all of them unless the reader would not boot). */
  killsSurvived: number;
  loadSeconds: number;
  decisions: number;
  grants: number;
  /** Access decisions per second of load, over all load windows. */
  presentationsPerSecond: number;
  /** Decisions by reason code (granted, use_limit_reached, unknown_credential, ...). */
  reasons: Record<string, number>;
  bootMs: { median: number; max: number };
  totals: LoadCounters;
  checked: CheckCounts;
  violations: Violation[];
  cycles: CycleFigures[];
  durationSeconds: number;
}

/**
 * The kill -9 soak (issue 9): the real reader as a child process under concurrent load
 * (phones over the virtual air, badges, host pushes, event reads and acks, both streams),
 * killed at a seeded moment, checked from outside after each kill, restarted on the same
 * flash image. See docs/SOAK.md for the invariants.
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const kills = options.kills ?? 50;
  const seconds = options.seconds ?? 3;
  const seed = options.seed ?? 1;
  const imageMiB = options.imageMiB ?? 4;
  const bootKills = options.bootKills ?? 0.1;
  const minDecisions = options.minDecisions ?? 0;
  const minPushes = options.minPushes ?? 0;
  const log = options.log ?? (() => undefined);
  const random = seededRandom(seed);
  const started = Date.now();

  const ownDir = options.dataDir === undefined;
  const dataDir = path.resolve(options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'soak-')));
  if (fs.existsSync(path.join(dataDir, 'flash.img'))) {
    throw new Error(`${dataDir} already holds a flash image: the soak needs a fresh data dir`);
  }
  // A short path: UNIX socket paths are limited to ~107 bytes.
  const airDir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-air-'));
  const airSocket = path.join(airDir, 'air.sock');
  openStore({ dir: dataDir, imageBytes: imageMiB * 1024 * 1024 }).close();

  const launcher = readerLauncher({ tsNode: options.tsNode });
  const fixture = buildFixture(
    { badges: options.badges ?? 8, phones: options.phones ?? 3, users: options.siteUsers ?? 300 },
    random,
  );
  const ledger = new Ledger();
  const cycles: CycleFigures[] = [];
  const bootTimes: number[] = [];
  let reader: ReaderProcess | undefined;
  let survived = 0;

  const boot = async (): Promise<{ url: string; bootMs: number }> => {
    const t = Date.now();
    reader = await ReaderProcess.start(launcher, { dataDir, airSocket });
    try {
      const url = await reader.ready(60_000);
      bootTimes.push(Date.now() - t);
      return { url, bootMs: Date.now() - t };
    } catch (err) {
      ledger.violations.push({
        cycle: cycles.length + 1,
        kind: 'reader_crashed',
        detail: `${(err as Error).message}\n${reader.tail.slice(-15).join('\n')}`,
      });
      throw err;
    }
  };

  try {
    let { url } = await boot();
    const token = fs.readFileSync(path.join(dataDir, TOKEN_FILE), 'utf8').trim();
    await seed0(new HostClient(url, token), fixture, ledger, airSocket);
    log(
      `soak: reader ${launcher.mode}, ${fixture.badges.length} badges, ${fixture.phones.length} phones, ` +
        `${imageMiB} MiB image, ${kills} kills, ${seconds} s windows, seed ${seed}`,
    );

    const until = started + (options.durationSeconds ?? 0) * 1000;
    for (let cycle = 1; cycle <= kills || Date.now() < until; cycle++) {
      let bootMs = 0;
      const decisionsBefore = ledger.decisions;
      const pushesBefore = ledger.pushesAcked;
      const grantsBefore = ledger.grants.size;
      const counters = newCounters();
      let phase: CycleFigures['phase'] = 'load';
      let loadMs = 0;
      if (!reader?.running) {
        if (cycle > 1 && random() < bootKills) {
          // Killed while it mounts, repairs and boots: the next remount must cope as well.
          phase = 'boot';
          const median = bootTimes.length ? percentile(bootTimes, 0.5) : 1000;
          reader = await ReaderProcess.start(launcher, { dataDir, airSocket });
          await delay(random() * median);
        } else {
          try {
            ({ url, bootMs } = await boot());
          } catch {
            // Recorded as reader_crashed: the last kill was not survived after all. The
            // figures so far still come out, with exit 1.
            survived = Math.max(0, survived - 1);
            break;
          }
        }
      }
      const proc = reader!;
      if (phase === 'load') {
        const client = new HostClient(url, token);
        const load = new Load({
          client,
          apiUrl: url,
          token,
          airSocket,
          fixture,
          ledger,
          // Its own stream: the load's draws interleave by timing, the kill schedule's must not.
          random: seededRandom(seed * 7919 + cycle),
          cycle,
          badgeWorkers: options.badgeWorkers ?? 2,
          ackLag: 25,
          counters,
        });
        const t0 = Date.now();
        await load.start();
        const killAt = seconds * 1000 * (0.25 + 0.75 * random());
        const decided = loadOrDeadline(
          ledger,
          decisionsBefore + minDecisions,
          pushesBefore + minPushes,
        );
        const crashed = await Promise.race([
          Promise.all([delay(Math.max(0, killAt - (Date.now() - t0))), decided.reached]).then(
            () => false,
          ),
          proc.exit().then(() => true),
        ]);
        decided.cancel();
        if (crashed) {
          ledger.violations.push({
            cycle,
            kind: 'reader_crashed',
            detail: `the reader exited by itself under load\n${proc.tail.slice(-15).join('\n')}`,
          });
        }
        load.killing();
        await proc.kill9();
        loadMs = Date.now() - t0;
        await load.stop();
      } else {
        await proc.kill9();
      }
      const checked = checkAfterKill(dataDir, fixture, ledger, cycle);
      survived++;
      const figures: CycleFigures = {
        cycle,
        phase,
        bootMs,
        loadMs,
        decisions: ledger.decisions - decisionsBefore,
        grants: ledger.grants.size - grantsBefore,
        counters,
        checked,
      };
      cycles.push(figures);
      log(cycleLine(figures, ledger.violations.length));
    }
  } finally {
    if (reader?.running) await reader.kill9();
    fs.rmSync(airDir, { recursive: true, force: true });
    if (ownDir && !options.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return summarize({
    seed,
    mode: launcher.mode,
    imageMiB,
    fixture,
    kills: cycles.length,
    survived,
    cycles,
    bootTimes,
    ledger,
    started,
  });
}

/**
 * The set-up, through the host API and the air like a real installation: the soak config,
 * each phone enrolled at the reader over BLE (enroll mode, Raw Data), then one full push.
 */
async function seed0(
  client: HostClient,
  fixture: SoakFixture,
  ledger: Ledger,
  airSocket: string,
): Promise<void> {
  await client.patchConfig({ ...SOAK_CONFIG });
  // The base users must exist before enroll mode can name them.
  const users = { ...fixture.base, credentials: [] };
  await client.push(users);
  for (const p of fixture.phones) {
    const enrollment = await client.enroll(p.credential.userId, 15_000);
    const air = await connectAir({ path: airSocket });
    const radio = startPhoneRadio({ key: p.key!, air });
    try {
      const result = await radio.phone.enroll({ timeoutMs: 5000 });
      if (result.status !== 'enrolled') throw new Error(`phone enroll: ${result.status}`);
    } finally {
      radio.close();
      air.close();
    }
    const captured = (await client.enrollment(enrollment.id)) as {
      state: string;
      rawData?: { deviceId: string; publicKey: string };
    };
    if (captured.state !== 'captured' || captured.rawData?.deviceId !== p.key!.deviceId) {
      throw new Error(`enrollment of ${p.key!.deviceId} ended ${captured.state}`);
    }
    if (captured.rawData.publicKey !== rawDataOf(p.key!).publicKey) {
      throw new Error(`enrollment of ${p.key!.deviceId} captured another key`);
    }
    p.credential.publicKey = captured.rawData.publicKey;
  }
  const answer = await client.push(fullContent(fixture, []));
  ledger.lastPush = { version: answer.version, churn: new Map(), full: true };
}

function summarize(r: {
  seed: number;
  mode: ReaderLauncher['mode'];
  imageMiB: number;
  fixture: SoakFixture;
  kills: number;
  survived: number;
  cycles: CycleFigures[];
  bootTimes: number[];
  ledger: Ledger;
  started: number;
}): SoakReport {
  const totals = newCounters();
  const checked = noChecks();
  let loadMs = 0;
  let decisions = 0;
  let grants = 0;
  for (const c of r.cycles) {
    loadMs += c.loadMs;
    decisions += c.decisions;
    grants += c.grants;
    for (const key of Object.keys(totals) as (keyof LoadCounters)[]) {
      if (key === 'hostErrors') totals.hostErrors.push(...c.counters.hostErrors);
      else totals[key] += c.counters[key];
    }
    for (const key of Object.keys(checked) as (keyof CheckCounts)[]) {
      // Uses and phone grants are running totals: the last check has them.
      if (
        key === 'uses' ||
        key === 'phoneGrants' ||
        key === 'limitsReached' ||
        key === 'maxErase'
      ) {
        checked[key] = c.checked[key];
      } else checked[key] += c.checked[key];
    }
  }
  return {
    seed: r.seed,
    reader: r.mode,
    imageMiB: r.imageMiB,
    phones: r.fixture.phones.length,
    badges: r.fixture.badges.length,
    kills: r.kills,
    killsSurvived: r.survived,
    loadSeconds: loadMs / 1000,
    decisions,
    grants,
    presentationsPerSecond: loadMs > 0 ? decisions / (loadMs / 1000) : 0,
    reasons: Object.fromEntries(r.ledger.reasons),
    bootMs: {
      median: r.bootTimes.length ? percentile(r.bootTimes, 0.5) : 0,
      max: r.bootTimes.length ? Math.max(...r.bootTimes) : 0,
    },
    totals,
    checked,
    violations: r.ledger.violations,
    cycles: r.cycles,
    durationSeconds: (Date.now() - r.started) / 1000,
  };
}

function cycleLine(c: CycleFigures, violations: number): string {
  const k = c.counters;
  return (
    `kill ${String(c.cycle).padStart(3)} ${c.phase === 'boot' ? 'during boot' : `after ${(c.loadMs / 1000).toFixed(2)} s`}` +
    `${c.bootMs ? ` (boot ${c.bootMs} ms)` : ''}: ${c.decisions} decisions, ${c.grants} grants, ` +
    `phones ${k.phoneGranted}/${k.phoneDenied}, badges ${k.badgeDecisions}, pushes ${k.pushesAcked}, ` +
    `acks ${k.acks}, relay ${k.relayUnlocks}; checked ${c.checked.events} events, ${c.checked.debits} debits` +
    `${c.checked.repairs ? `, ${c.checked.repairs} repairs` : ''}; violations ${violations}`
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** How long a window waits for its `minDecisions` and `minPushes` before the kill goes ahead. */
const LOAD_DEADLINE_MS = 60_000;

/** The ledger's decision and push counts reaching theirs, or the deadline; cancel() drops the timer. */
function loadOrDeadline(
  ledger: Ledger,
  decisions: number,
  pushes: number,
): { reached: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, LOAD_DEADLINE_MS);
  });
  const both = Promise.all([ledger.decisionsReached(decisions), ledger.pushesReached(pushes)]);
  return {
    reached: Promise.race([both.then(() => undefined), deadline]),
    cancel: () => clearTimeout(timer),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
