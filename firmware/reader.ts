import { EventEmitter } from 'node:events';
import type { IndicatorEngine } from '../led';
import { CREDENTIAL_KINDS, Credential, NewEvent } from './foundation/model';
import type { AccessPointController } from './access-point';
import { Clock, Timer } from './foundation/clock';
import { ReaderConfig } from './config';
import { Decision, DecisionContext, decide } from './decision';
import type { DoorController } from './door';
import { KeypadGuard } from './keypad-guard';
import { ReaderLog, SILENT_LOG } from './foundation/log';
import { pinLookupValue, verifySecondFactorPin } from './pin';
import {
  CheckedPresentation,
  isCheckedPresentation,
  isValidPresentation,
  parsePresentation,
  Presentation,
  type ValidPresentation,
} from './foundation/presentation';
import { REASONS } from './foundation/reasons';
import { ReaderStoreView } from './store-view';

export interface ReaderParts {
  clock: Clock;
  store: ReaderStoreView;
  indicator: Pick<IndicatorEngine, 'showTemporary'>;
  door: Pick<DoorController, 'momentaryUnlock'>;
  config: ReaderConfig;
  accessPoint: Pick<AccessPointController, 'isLockdown' | 'setEnrollMode'>;
  log?: ReaderLog;
}

/** osdp-pd role: the presentation went to the panel, which decides (docs/OSDP.md). */
export interface HandedToPanel {
  outcome: 'panel';
}

/** Where presentations go instead of the decision while a panel decides (osdp-pd role). */
export type PanelHandOff = (presentation: ValidPresentation) => void;

export interface PresentationResult {
  decision: Decision | HandedToPanel;
  /** The event as committed to flash (absent when the commit failed). */
  event?: NewEvent;
  /** Why the commit failed: nothing was actuated. */
  error?: string;
}

/** Enroll mode captured a phone for a user: the reader's 'raw-data' event. */
export interface RawDataCapture {
  userId: string;
  deviceId: string;
  publicKey?: string;
  at: number;
}

interface PinWait {
  deliver(digits: string | undefined): void;
  result: Promise<PresentationResult>;
}

/**
 * The decision loop. Presentations are handled one at a time in arrival order:
 *   processing LED -> look up -> decide (pure) -> [wait for PIN -> decide again]
 *   -> grant: store.recordGrant (event + use debit, durable) THEN door.momentaryUnlock
 *      deny:  store.events.append (durable)
 *   -> granted / denied LED.
 * A keypad entry goes to the badge waiting for its PIN, if one is; otherwise it is a
 * PIN-only presentation of its own.
 *
 * Events: 'decision' ({ presentation, result }) after each commit; 'raw-data' (RawDataCapture) when
 * enroll mode captures a phone; 'enroll' ({ userId, active }) when enroll mode starts/ends.
 */
export class Reader extends EventEmitter {
  private tail: Promise<unknown> = Promise.resolve();
  private closing = false;
  private pinWait: PinWait | undefined;
  private enrollment: { userId: string; timer: Timer } | undefined;
  private readonly guard: KeypadGuard;
  private readonly log: ReaderLog;
  private panel: PanelHandOff | undefined;

  constructor(private readonly parts: ReaderParts) {
    super();
    this.log = parts.log ?? SILENT_LOG;
    // A power cycle must not reset the wrong-PIN count or lift a lockout: rebuild it from
    // the durable attempts (the event log holds the newest `capacity` events, plenty).
    const { pinAttemptsBeforeLockout, keypadLockoutMs } = parts.config.get();
    this.guard = KeypadGuard.fromLog(
      parts.store.events.list(0, Number.MAX_SAFE_INTEGER),
      pinAttemptsBeforeLockout,
      keypadLockoutMs,
    );
  }

  /**
   * Queues a presentation as parsePresentation judged it (a refused one is denied
   * bad_request); resolves once its event is durable and the outputs are driven.
   */
  present(presentation: CheckedPresentation): Promise<PresentationResult> {
    if (this.closing) return Promise.reject(new Error('reader is shutting down'));
    // Whatever slipped past the types (plain JavaScript, a cast) is parsed, never trusted.
    const checked = isCheckedPresentation(presentation)
      ? presentation
      : parsePresentation(presentation);
    const run = this.tail.then(() => this.process(checked));
    // The tail holds no result: a fleet reader idle between presentations would keep the
    // last one's event alive (and past the young generation) until the next.
    this.tail = run.then(settled, settled);
    return run;
  }

  /**
   * Looks up and decides without committing or touching the outputs: the synchronous part
   * of processing (benchmarks, a host "what would happen" query).
   */
  evaluate(presentation: CheckedPresentation): { decision: Decision; credential?: Credential } {
    const credential = this.lookup(presentation);
    return { decision: decide(presentation, this.context(credential)), credential };
  }

  /** Digits entered on the keypad ('#'): the waiting badge's PIN, or a PIN-only credential. */
  keypadEntry(digits: string): Promise<PresentationResult> {
    const wait = this.pinWait;
    if (wait) {
      this.pinWait = undefined;
      wait.deliver(digits);
      return wait.result;
    }
    return this.present(
      parsePresentation({
        kind: 'pin',
        value: digits,
        source: 'keypad',
        accessPointId: this.parts.config.get().accessPointId,
        at: this.parts.clock.now(),
      }),
    );
  }

  /**
   * osdp-pd role: every presentation that passes the reader's own checks (rule 2: well formed,
   * a phone's proof, RSSI) goes to `panel` instead of being decided here; undefined ends it.
   */
  handOffTo(panel: PanelHandOff | undefined): void {
    this.panel = panel;
  }

  /** Host: capture the next phone as raw data for this user, for timeoutMs (default: config). */
  enroll(userId: string, timeoutMs?: number): void {
    if (typeof userId !== 'string' || userId.length === 0)
      throw new RangeError('enroll needs a user id');
    const { clock, config } = this.parts;
    this.endEnroll();
    const timer = clock.setTimeout(() => {
      this.endEnroll();
      this.commitEvent({ ts: clock.now(), type: 'enroll', detail: { userId, result: 'timeout' } });
    }, timeoutMs ?? config.get().enrollTimeoutMs);
    this.enrollment = { userId, timer };
    this.parts.accessPoint.setEnrollMode(true);
    this.emit('enroll', { userId, active: true });
  }

  get enrolling(): string | undefined {
    return this.enrollment?.userId;
  }

  /** Whether a badge is waiting for its PIN. */
  get awaitingPin(): boolean {
    return this.pinWait !== undefined;
  }

  /** Takes no more presentations, ends a PIN wait (pin_required) and waits for the commit in flight. */
  async close(): Promise<void> {
    this.closing = true;
    const wait = this.pinWait;
    this.pinWait = undefined;
    wait?.deliver(undefined);
    if (this.enrollment) this.endEnroll();
    await this.tail;
  }

  private endEnroll(): void {
    if (!this.enrollment) return;
    const { userId, timer } = this.enrollment;
    this.parts.clock.clearTimeout(timer);
    this.enrollment = undefined;
    this.parts.accessPoint.setEnrollMode(false);
    this.emit('enroll', { userId, active: false });
  }

  private async process(p: CheckedPresentation): Promise<PresentationResult> {
    if (this.panel) return this.handOver(p, this.panel);
    this.parts.indicator.showTemporary('processing');
    const credential = this.lookup(p);
    let decision = decide(p, this.context(credential));
    // need_pin comes only for a valid presentation; the check tells the compiler so.
    if (decision.outcome === 'need_pin' && isValidPresentation(p)) {
      // Amber for the whole PIN wait (the table's processing timer is only a safety net);
      // the margin lets the decision replace it rather than racing it at the timeout.
      if (p.pin === undefined) {
        this.parts.indicator.showTemporary(
          'processing',
          this.parts.config.get().pinTimeoutMs + 1000,
        );
      }
      let answer: (result: PresentationResult) => void = () => {};
      const answered = new Promise<PresentationResult>((resolve) => (answer = resolve));
      const digits = p.pin ?? (await this.waitForPin(answered));
      const pinCheck =
        digits === undefined
          ? 'timeout'
          : verifySecondFactorPin(digits, credential!.pinHash!)
            ? 'match'
            : 'mismatch';
      // Decide again at the time the PIN arrived: the credential may have expired meanwhile.
      decision = decide(p, this.context(credential, pinCheck));
      if (pinCheck === 'mismatch') this.keypadWrong();
      // Only a grant ends a run of wrong PINs (see the keypad branch below).
      if (pinCheck === 'match' && decision.outcome === 'grant') this.guard.right();
      const result = this.commit(p, decision);
      answer(result);
      return result;
    } else if (p.source === 'keypad') {
      if (
        decision.outcome === 'deny' &&
        (decision.reason === 'unknown_credential' || decision.reason === 'bad_request')
      ) {
        this.keypadWrong();
      } else if (decision.outcome === 'grant') {
        // A grant, not any known PIN: a disabled, expired or out-of-schedule PIN that its
        // holder still knows must not reset the count between guesses at other PINs.
        this.guard.right();
      }
    }
    return this.commit(p, decision);
  }

  /**
   * The panel decides, but only what the reader can vouch for: a presentation the reader
   * itself refuses (rule 2) is denied and logged here, since the panel never hears of it.
   */
  private handOver(p: CheckedPresentation, panel: PanelHandOff): PresentationResult {
    const decision = decide(p, { ...this.context(undefined), keypadLockedUntil: 0 });
    // Enroll mode stays the host's: the reader keeps the phone keys it checks signatures with.
    if (decision.outcome === 'capture') return this.commit(p, decision);
    if (decision.outcome === 'deny' && REASONS[decision.reason].rule === 2) {
      return this.commit(p, decision);
    }
    if (!isValidPresentation(p)) return this.commit(p, { outcome: 'deny', reason: 'bad_request' });
    panel(p);
    return { decision: { outcome: 'panel' } };
  }

  private keypadWrong(): void {
    const { pinAttemptsBeforeLockout, keypadLockoutMs } = this.parts.config.get();
    this.guard.wrong(this.parts.clock.now(), pinAttemptsBeforeLockout, keypadLockoutMs);
  }

  private lookup(p: CheckedPresentation): Credential | undefined {
    if (!isValidPresentation(p)) return undefined;
    const value =
      p.kind === 'pin' ? pinLookupValue(p.value, this.parts.config.get().pinKey) : p.value;
    return this.parts.store.database.findCredential(p.kind, value);
  }

  private context(
    credential: Credential | undefined,
    pinCheck?: DecisionContext['pinCheck'],
  ): DecisionContext {
    const { store, clock, accessPoint, config } = this.parts;
    const db = store.database;
    const schedule =
      credential?.scheduleId !== undefined ? db.schedule(credential.scheduleId) : undefined;
    return {
      now: clock.now(),
      credential,
      user: credential ? db.user(credential.userId) : undefined,
      schedule,
      holidays: schedule ? db.holidays() : [],
      usesSoFar: credential ? db.usesOf(credential.id) : 0,
      lockdown: accessPoint.isLockdown(),
      enrollMode: this.enrollment !== undefined,
      minRssi: config.minRssi(),
      keypadLockedUntil: this.guard.lockedUntilTime(),
      pinCheck,
      logFull: store.events.canLog ? !store.events.canLog() : false,
    };
  }

  /** Resolves with the digits, or undefined at the PIN timeout (or shutdown). */
  private waitForPin(answered: Promise<PresentationResult>): Promise<string | undefined> {
    const { clock, config } = this.parts;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (digits: string | undefined) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        resolve(digits);
      };
      const timer = clock.setTimeout(() => {
        if (this.pinWait?.deliver === finish) this.pinWait = undefined;
        finish(undefined);
      }, config.get().pinTimeoutMs);
      // The keypad entry that brings the digits answers with this presentation's result.
      this.pinWait = { deliver: finish, result: answered };
    });
  }

  private commit(p: CheckedPresentation, decision: Decision): PresentationResult {
    const { clock, store, door, indicator, config } = this.parts;
    const cfg = config.get();
    // A refused presentation may not even be an object: log what can be trusted.
    const raw = isValidPresentation(p) ? p : p.raw;
    const shown: Partial<Presentation> = typeof raw === 'object' && raw !== null ? raw : {};
    const base: NewEvent = {
      ts: clock.now(),
      type: decision.outcome === 'capture' ? 'enroll' : 'access',
      accessPointId:
        typeof shown.accessPointId === 'string' && shown.accessPointId.length <= 64
          ? shown.accessPointId
          : cfg.accessPointId,
      kind: (CREDENTIAL_KINDS as readonly unknown[]).includes(shown.kind) ? shown.kind : undefined,
      detail: presentationDetail(shown),
    };
    let result: PresentationResult;
    try {
      switch (decision.outcome) {
        case 'capture': {
          const userId = this.enrollment!.userId;
          // Rule 1 comes before rule 2: enroll mode captures whatever a phone sent.
          const deviceId = shown.value!;
          const captured: RawDataCapture = {
            userId,
            deviceId,
            publicKey: shown.publicKey,
            at: base.ts,
          };
          const event: NewEvent = {
            ...base,
            userId,
            detail: { rawData: { deviceId, publicKey: shown.publicKey } },
          };
          store.events.append(event);
          this.endEnroll();
          indicator.showTemporary('enrolled');
          this.emit('raw-data', captured);
          result = { decision, event };
          break;
        }
        case 'grant': {
          const event: NewEvent = {
            ...base,
            decision: 'grant',
            reason: 'granted',
            credentialId: decision.credentialId,
            userId: decision.userId,
          };
          // Durable first: a power cut after this line never loses the debit or the event.
          store.recordGrant(event, decision.credentialId);
          door.momentaryUnlock({ extended: decision.extendedUnlock });
          indicator.showTemporary(
            'granted',
            decision.extendedUnlock ? cfg.extendedUnlockMs : cfg.unlockMs,
          );
          result = { decision, event };
          break;
        }
        case 'deny':
        case 'need_pin': {
          const reason = decision.reason;
          const event: NewEvent = {
            ...base,
            decision: 'deny',
            reason,
            credentialId: decision.credentialId,
            userId: decision.userId,
          };
          store.events.append(event);
          indicator.showTemporary('denied');
          result = { decision, event };
          break;
        }
      }
    } catch (err) {
      // The flash refused the commit: nothing is actuated, the reader keeps running. A full
      // log makes it a visible refusal of its own (log_full), whatever the decision was.
      const error = err instanceof Error ? err.message : String(err);
      this.log.error(
        { err, reason: 'reason' in decision ? decision.reason : 'capture' },
        'commit failed',
      );
      indicator.showTemporary('denied');
      if (isStoreFull(err)) {
        const { credentialId, userId } = decision as { credentialId?: string; userId?: string };
        decision = { outcome: 'deny', reason: 'log_full', credentialId, userId };
      }
      result = { decision, error };
    }
    this.log.info(
      {
        decision: decision.outcome,
        reason: 'reason' in decision ? decision.reason : undefined,
        kind: shown.kind,
        source: shown.source,
        // What the parser refused, so a bad_request can be traced to its input.
        problem: isValidPresentation(p) ? undefined : p.problem,
      },
      'presentation',
    );
    // The redacted copy is made for listeners only: most readers of a fleet have none.
    if (this.listenerCount('decision') > 0) {
      this.emit('decision', { presentation: redact(raw), result });
    }
    return result;
  }

  private commitEvent(event: NewEvent): void {
    try {
      this.parts.store.events.append(event);
    } catch (err) {
      this.log.error({ err, type: event.type }, 'event append failed');
    }
  }
}

function settled(): void {}

/** The store's StoreFullError, by its code (the reader knows the store by its view only). */
function isStoreFull(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'store_full';
}

/** What an event may say about the presentation: never PIN digits. */
function presentationDetail(p: Partial<Presentation>): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    source: typeof p.source === 'string' ? p.source.slice(0, 32) : undefined,
  };
  if (typeof p.rssi === 'number' && Number.isFinite(p.rssi)) detail.rssi = p.rssi;
  if (p.profile === 'pkoc' || p.profile === 'reader-sim') detail.profile = p.profile;
  if ((p.kind === 'badge' || p.kind === 'mobile') && typeof p.value === 'string') {
    detail.presented = p.value.slice(0, 128);
  }
  return detail;
}

function redact<T>(p: T): T {
  if (typeof p !== 'object' || p === null) return p;
  const copy: Partial<Presentation> = { ...p };
  if (copy.kind === 'pin') copy.value = '****';
  if (copy.pin !== undefined) copy.pin = '****';
  return copy as T;
}
