import { openStore } from '../../../storage';
import { examineImage } from '../../../storage/fsck';
import type { Credential } from '../../../firmware/foundation/model';
import { SoakFixture } from './fixture';
import { canonical, Ledger, Violation } from './ledger';

/** The config the soak set at the start: it must outlive every kill. */
export const SOAK_CONFIG = { blePhoneCooldownMs: 0, unlockMs: 1000 } as const;

/** A relay unlock belongs to a grant committed at most this long before it (reader clock). */
const RELAY_GRANT_WINDOW_MS = 10_000;

/** What one remount check compared. */
export interface CheckCounts {
  /** Reported events compared by seq and content with the log (or known acknowledged and gone). */
  events: number;
  /** Use counters compared with the grant events and the limits. */
  debits: number;
  /** Uses those counters add up to. */
  uses: number;
  /** Pushes whose version and content were checked (the last acknowledged one). */
  pushes: number;
  /** Relay unlocks matched to a durable grant. */
  relays: number;
  /** Phone grants matched to durable grant events (cumulative). */
  phoneGrants: number;
  /** Limited credentials whose uses reached their limit exactly (the boundary held). */
  limitsReached: number;
  /** Highest sector erase count of the image: above 0 once garbage collection ran. */
  maxErase: number;
  /** fsck repairs the kill left (torn records, an unfinished collection): expected, counted. */
  repairs: number;
}

/** Counts before anything was checked. */
export function noChecks(): CheckCounts {
  return {
    events: 0,
    debits: 0,
    uses: 0,
    pushes: 0,
    relays: 0,
    phoneGrants: 0,
    limitsReached: 0,
    maxErase: 0,
    repairs: 0,
  };
}

/**
 * After a kill: fsck the image (read-only), mount it as the reader's next boot will, and
 * hold it to everything the ledger says the reader promised. Adds the log to the ledger's
 * history (events written but not yet read) so the next cycle builds on what is true.
 */
export function checkAfterKill(
  dataDir: string,
  fixture: SoakFixture,
  ledger: Ledger,
  cycle: number,
): CheckCounts {
  const counts = noChecks();
  const violate = (kind: Violation['kind'], detail: string) =>
    ledger.violations.push({ cycle, kind, detail });

  const image = examineImage(dataDir);
  counts.repairs = image.repairs.length;
  counts.maxErase = image.wear?.max ?? 0;
  for (const problem of image.problems) violate('image_damaged', `fsck: ${problem}`);
  if (image.problems.length > 0) return counts;

  const store = openStore({ dir: dataDir });
  try {
    // Events: every reported one still there, same content, unless acknowledged and retired.
    const stats = store.events.stats();
    if (stats.ackedSeq < ledger.ackedUpTo) {
      violate('ack_lost', `acknowledged up to ${ledger.ackedUpTo}, the log says ${stats.ackedSeq}`);
    }
    const log = store.events.list(0, stats.count + 1);
    const inLog = new Map(log.map((e) => [e.seq, canonical(e)]));
    log.forEach((e, i) => {
      const expected = i === 0 ? stats.firstSeq : log[i - 1]!.seq + 1;
      if (e.seq !== expected)
        violate('seq_gap', `log holds seq ${e.seq} where ${expected} belongs`);
    });
    if (log.length > 0 && log[log.length - 1]!.seq !== stats.lastSeq) {
      violate('seq_gap', `log ends at ${log[log.length - 1]!.seq}, lastSeq is ${stats.lastSeq}`);
    }
    for (const [seq, text] of ledger.events) {
      const found = inLog.get(seq);
      counts.events++;
      if (found === undefined) {
        if (seq > stats.ackedSeq || seq >= stats.firstSeq) {
          violate('event_lost', `seq ${seq} (${text}) is not in the log after the kill`);
        }
      } else if (found !== text) {
        violate('event_changed', `seq ${seq} was reported as ${text}, the log has ${found}`);
      }
    }
    // Written but not yet read: part of the history from now on.
    for (const e of log) if (!ledger.events.has(e.seq)) ledger.report(e, cycle, 'the log');
    ledger.forgetBelow(stats.firstSeq);

    // Debits: a grant is its event and its debit in one transaction, never one without the other.
    const grants = ledger.grantsByCredential();
    for (const { credential } of [...fixture.badges, ...fixture.phones]) {
      const uses = store.database.usesOf(credential.id);
      const granted = grants.get(credential.id) ?? 0;
      counts.debits++;
      counts.uses += uses;
      if (uses < granted) {
        violate('debit_missing', `${credential.id}: ${granted} grant events, ${uses} uses`);
      } else if (uses > granted) {
        violate('debit_without_event', `${credential.id}: ${uses} uses, ${granted} grant events`);
      }
      if (credential.useLimit !== undefined && uses === credential.useLimit) counts.limitsReached++;
      if (credential.useLimit !== undefined && uses > credential.useLimit) {
        violate(
          'over_grant',
          `${credential.id}: ${uses} uses over its limit ${credential.useLimit}`,
        );
      }
      const told = ledger.phoneGrants.get(credential.id) ?? 0;
      counts.phoneGrants += told;
      if (told > granted) {
        violate(
          'phone_grant_lost',
          `${credential.id}: phone told granted ${told}x, ${granted} in log`,
        );
      }
    }

    // Relay: each unlock the panel showed has a durable grant just before it.
    const unmatched = [...ledger.grants.entries()]
      .filter(([seq]) => !ledger.matchedGrants.has(seq))
      .sort((a, b) => a[1].ts - b[1].ts || a[0] - b[0]);
    for (const at of ledger.relayUnlocks.sort((a, b) => a - b)) {
      let pick = -1;
      for (let i = 0; i < unmatched.length; i++) {
        const ts = unmatched[i]![1].ts;
        if (ts > at) break;
        if (ts >= at - RELAY_GRANT_WINDOW_MS) pick = i;
      }
      if (pick < 0) {
        violate('unlock_without_debit', `relay unlocked at ${at} with no durable grant before it`);
      } else {
        ledger.matchedGrants.add(unmatched[pick]![0]);
        unmatched.splice(pick, 1);
        counts.relays++;
      }
    }
    ledger.relayUnlocks = [];

    // Pushes: the last acknowledged one is in effect (or the one in flight, whole).
    const version = store.database.version();
    const acked = ledger.lastPush!;
    const flying = ledger.pushInFlight;
    ledger.pushInFlight = undefined;
    if (flying && version === flying.version) ledger.lastPush = flying;
    else if (version !== acked.version) {
      violate(
        version < acked.version ? 'push_lost' : 'database_wrong',
        `database version ${version}, last acknowledged push ${acked.version}` +
          (flying ? `, in flight ${flying.version}` : ''),
      );
    }
    counts.pushes++;
    checkContent(store.database.content().credentials, fixture, ledger, violate);

    const config = store.config.get();
    for (const [key, value] of Object.entries(SOAK_CONFIG)) {
      if (config[key] !== value) violate('config_lost', `config ${key} is ${String(config[key])}`);
    }
  } finally {
    store.close();
  }
  // The mount above repaired what the kill left; a second look finds a sound image.
  for (const problem of examineImage(dataDir).problems) {
    violate('image_damaged', `fsck after remount: ${problem}`);
  }
  return counts;
}

/** Base credentials exactly as pushed; churn badges exactly those of the push in effect. */
function checkContent(
  stored: Credential[],
  fixture: SoakFixture,
  ledger: Ledger,
  violate: (kind: Violation['kind'], detail: string) => void,
): void {
  const byId = new Map(stored.map((c) => [c.id, c]));
  for (const { credential } of [...fixture.badges, ...fixture.phones]) {
    const found = byId.get(credential.id);
    if (!found || canonical(found) !== canonical(credential)) {
      violate('database_wrong', `${credential.id} is ${found ? canonical(found) : 'missing'}`);
    }
  }
  const churn = ledger.lastPush!.churn;
  const storedChurn = stored.filter((c) => c.id.startsWith('soak-churn-'));
  if (storedChurn.length !== churn.size) {
    violate(
      'database_wrong',
      `${storedChurn.length} churn badges stored, the push in effect has ${churn.size}`,
    );
  }
  for (const c of storedChurn) {
    const expected = churn.get(c.id);
    if (!expected || canonical(expected) !== canonical(c)) {
      violate(
        'database_wrong',
        `churn badge ${c.id} is ${canonical(c)}, expected ${expected ? canonical(expected) : 'none'}`,
      );
    }
  }
}
