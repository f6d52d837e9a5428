/**
 * Issue 9 "Hardening": kill -9 of the real reader under load, at least 50 times, remounting
 * after each kill (scripts/dev/soak, docs/SOAK.md). The checker itself is tested first on an
 * image with known contents, so a soak that reports zero violations means something.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../firmware/foundation/random';
import { runCli } from '../run-cli';
import { runSoak, type SoakReport } from '../../scripts/dev/soak';
import { buildFixture, fullContent } from '../../scripts/dev/soak/fixture';
import { Ledger, Violation } from '../../scripts/dev/soak/ledger';
import { formatSoakReport } from '../../scripts/dev/soak/report';
import { checkAfterKill, SOAK_CONFIG } from '../../scripts/dev/soak/verify';
import { openStore } from '../../storage';

const KILLS = 50;

describe('the remount check', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-check-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** An image as a reader leaves it: a push, grants (event + debit), a deny, an ack. */
  function image() {
    const fixture = buildFixture({ badges: 3, phones: 0 }, seededRandom(3));
    const store = openStore({ dir, imageBytes: 1 << 20 });
    store.config.set({ ...SOAK_CONFIG });
    const version = store.database.replace(fullContent(fixture, []));
    const [b0, b1] = fixture.badges.map((b) => b.credential);
    const grant = (id: string, ts: number) =>
      store.recordGrant({ ts, type: 'access', decision: 'grant', credentialId: id }, id);
    grant(b0!.id, 1000);
    grant(b1!.id, 2000);
    grant(b1!.id, 3000);
    store.events.append({ ts: 4000, type: 'access', decision: 'deny', reason: 'disabled' });
    store.events.ack(2);
    const log = store.events.list(0, 100);
    store.close();
    const ledger = new Ledger();
    ledger.lastPush = { version, churn: new Map(), full: true };
    for (const e of log) ledger.report(e, 0, 'test');
    ledger.ackedUpTo = 2;
    return { fixture, ledger, log, b0: b0!, b1: b1! };
  }

  const kinds = (violations: Violation[]) => violations.map((v) => v.kind).sort();

  it('passes an image that kept every promise, and counts what it compared', () => {
    const { fixture, ledger } = image();
    ledger.phoneGrants.set('soak-badge-1', 2);
    ledger.relayUnlocks.push(2000);
    const counts = checkAfterKill(dir, fixture, ledger, 1);
    expect(ledger.violations).toEqual([]);
    expect(counts).toMatchObject({ events: 4, debits: 3, uses: 3, pushes: 1, relays: 1 });
    // Remounting again finds the same: the check changes nothing a second look would see.
    checkAfterKill(dir, fixture, ledger, 2);
    expect(ledger.violations).toEqual([]);
  });

  it('finds a lost event, a changed one, a lost ack, a phone grant and a relay with no debit', () => {
    const { fixture, ledger, log } = image();
    const last = log[log.length - 1]!;
    ledger.report({ ...last, seq: last.seq + 1 }, 0, 'a forged report');
    ledger.events.set(2, ledger.events.get(2)!.replace('"ts":2000', '"ts":2001'));
    ledger.ackedUpTo = 4;
    ledger.phoneGrants.set('soak-badge-0', 2);
    ledger.relayUnlocks.push(500);
    checkAfterKill(dir, fixture, ledger, 1);
    expect(kinds(ledger.violations)).toEqual([
      'ack_lost',
      'event_changed',
      'event_lost',
      'phone_grant_lost',
      'unlock_without_debit',
    ]);
  });

  it('finds a debit without its event, a use over the limit, a lost push and a lost config', () => {
    const { fixture, ledger, b0 } = image();
    const store = openStore({ dir });
    const limit = fixture.badges[1]!.credential.useLimit!;
    for (let i = store.database.usesOf(b0.id); i <= limit; i++)
      store.database.debit('soak-badge-1');
    store.config.set({ ...SOAK_CONFIG, unlockMs: 5000 });
    store.close();
    ledger.lastPush = { ...ledger.lastPush!, version: ledger.lastPush!.version + 1 };
    checkAfterKill(dir, fixture, ledger, 1);
    expect(kinds(ledger.violations)).toEqual([
      'config_lost',
      'debit_without_event',
      'over_grant',
      'push_lost',
    ]);
  });

  it('finds grant events without their debit, and an image fsck rejects', () => {
    const { fixture, ledger } = image();
    ledger.report(
      { seq: 99, ts: 5000, type: 'access', decision: 'grant', credentialId: 'soak-badge-0' },
      0,
      'a forged report',
    );
    checkAfterKill(dir, fixture, ledger, 1);
    expect(kinds(ledger.violations)).toEqual(['debit_missing', 'event_lost']);

    // A sector header overwritten: fsck names it, the check stops there.
    const img = path.join(dir, 'flash.img');
    const bytes = fs.readFileSync(img);
    const dataStart = bytes.length - (1 << 20);
    // Garbage in either cell encoding (all zeros would read as erased cells in format 2).
    bytes.fill(0x5a, dataStart, dataStart + 64);
    fs.writeFileSync(img, bytes);
    const damaged = new Ledger();
    damaged.lastPush = ledger.lastPush;
    checkAfterKill(dir, fixture, damaged, 2);
    expect(kinds(damaged.violations)[0]).toBe('image_damaged');
  });
});

describe(`kill -9 of the real reader under load, ${KILLS} times`, () => {
  it('loses no reported event, acknowledged push or ack, and no unlock lacks its durable debit', async () => {
    // A 1 MiB image and 500 site users in each full push: garbage collection runs (and is
    // killed) within the run even when a busy machine leaves time for few pushes (2 MiB saw
    // no erase beside two busy loops), with room to spare for the event log.
    const report = await runSoak({
      kills: KILLS,
      seconds: 1.2,
      seed: 9,
      imageMiB: 1,
      siteUsers: 500,
      // A window's kill waits for its first decision and acknowledged push: a busy machine
      // stretches the window instead.
      minDecisions: 1,
      minPushes: 1,
    });
    // The figures, in the test output (docs/SOAK.md quotes a run).
    console.log(formatSoakReport(report));
    expect(report.violations).toEqual([]);
    expect(report.totals.hostErrors).toEqual([]);
    expect(report.kills).toBe(KILLS);
    expect(report.killsSurvived).toBe(KILLS);

    // Real load in (nearly) every window: decisions from phones and badges, pushes, acks.
    const underLoad = report.cycles.filter((c) => c.phase === 'load');
    expect(underLoad.length).toBeGreaterThanOrEqual(KILLS * 0.7);
    expect(report.cycles.some((c) => c.phase === 'boot')).toBe(true);
    const busy = underLoad.filter((c) => c.decisions > 0 && c.counters.pushesAcked > 0);
    expect(busy.length).toBeGreaterThanOrEqual(underLoad.length * 0.9);
    expect(report.totals.phoneGranted).toBeGreaterThan(0);
    expect(report.totals.badgeDecisions).toBeGreaterThan(0);
    expect(report.totals.acks).toBeGreaterThan(0);
    expect(report.totals.fullPushes).toBeGreaterThan(0);
    expect(report.grants).toBeGreaterThan(KILLS);
    expect(report.totals.relayUnlocks).toBeGreaterThan(KILLS);
    expect(report.checked.relays).toBe(report.totals.relayUnlocks);
    // Tight use limits ran out under the kills, exactly at the limit.
    expect(report.reasons.use_limit_reached).toBeGreaterThan(0);
    expect(report.checked.limitsReached).toBeGreaterThan(0);
    expect(report.checked.events).toBeGreaterThan(report.decisions);
    expect(report.checked.maxErase).toBeGreaterThan(0);
  }, 280_000);
});

describe('reader-sim soak', () => {
  async function cli(...argv: string[]) {
    const { code, out, err } = await runCli(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('answers bad flags with exit 2 and one line', async () => {
    for (const argv of [
      ['--kills', '0'],
      ['--seconds', 'soon'],
      ['--phones', '-1'],
      ['--boot-kills', '2'],
      ['--min-decisions', 'some'],
      ['--frobnicate'],
      ['extra'],
    ]) {
      const { code, err } = await cli('soak', ...argv);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(err.split('\n')).toHaveLength(1);
    }
    expect((await cli('soak', '--help')).out).toContain('--kills N');
  });

  it('runs, prints the figures as JSON and exits 0', async () => {
    // Each load window waits for its first decision before the kill (on the reports, not on a
    // guessed time): a busy machine stretches the window instead of killing an idle reader.
    const { code, out } = await cli(
      'soak',
      '--kills',
      '2',
      '--seconds',
      '1',
      '--min-decisions',
      '1',
      '--json',
    );
    expect(code).toBe(0);
    const report = JSON.parse(out) as SoakReport;
    expect(report).toMatchObject({ kills: 2, violations: [] });
    expect(report.decisions).toBeGreaterThan(0);
    for (const cycle of report.cycles.filter((c) => c.phase === 'load')) {
      expect({ cycle: cycle.cycle, decided: cycle.decisions >= 1 }).toEqual({
        cycle: cycle.cycle,
        decided: true,
      });
    }
  }, 180_000);
});
