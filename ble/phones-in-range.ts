import type { PhoneInRange } from '../firmware/ports';
import type { SessionState } from './session';

/** How long a phone stays listed, as `gone`, after its link dropped. */
export const GONE_RETENTION_MS = 30_000;

interface Link {
  address: string;
  deviceId?: string;
  profile?: PhoneInRange['profile'];
  rssi?: number;
  /** Reader clock time of the last RSSI reading or of the disconnect. */
  lastSeen?: number;
}

interface Gone extends Link {
  goneAt: number;
}

/**
 * The phones the reader knows right now: its GATT links (address, the deviceId once the
 * phone presented or enrolled, the last link RSSI) and, for `retentionMs` after they drop,
 * the phones that left. The session state is read from the live session, never copied.
 */
export class PhonesInRange {
  private readonly links = new Map<number, Link>();
  private readonly gone = new Map<string, Gone>();

  constructor(readonly retentionMs = GONE_RETENTION_MS) {}

  connected(handle: number, address: string): void {
    // A phone that comes back is one phone, not a gone one and a connected one.
    this.gone.delete(address);
    this.links.set(handle, { address });
  }

  identified(
    handle: number,
    deviceId: string,
    profile: PhoneInRange['profile'] = 'reader-sim',
  ): void {
    const link = this.links.get(handle);
    if (!link) return;
    link.deviceId = deviceId;
    link.profile = profile;
  }

  rssiRead(handle: number, rssi: number, at: number | undefined): void {
    const link = this.links.get(handle);
    if (!link) return;
    link.rssi = rssi;
    if (at !== undefined) link.lastSeen = at;
  }

  /** The link dropped at `at` (reader clock; undefined while no firmware runs: not kept). */
  disconnected(handle: number, at: number | undefined): void {
    const link = this.links.get(handle);
    this.links.delete(handle);
    if (link && at !== undefined)
      this.gone.set(link.address, { ...link, lastSeen: at, goneAt: at });
  }

  /** Drops the gone phones whose retention ran out; true if any was dropped. */
  prune(now: number): boolean {
    let dropped = false;
    for (const [address, g] of this.gone) {
      if (now - g.goneAt >= this.retentionMs) {
        this.gone.delete(address);
        dropped = true;
      }
    }
    return dropped;
  }

  handles(): number[] {
    return [...this.links.keys()];
  }

  get empty(): boolean {
    return this.links.size === 0 && this.gone.size === 0;
  }

  /** Nearest first (strongest RSSI; unmeasured last), connected phones before gone ones on a tie. */
  snapshot(stateOf: (handle: number) => SessionState): PhoneInRange[] {
    const listed: PhoneInRange[] = [];
    for (const [handle, link] of this.links) listed.push(entry(link, stateOf(handle)));
    for (const g of this.gone.values()) listed.push(entry(g, 'gone'));
    return listed.sort(
      (a, b) =>
        (b.rssi ?? -Infinity) - (a.rssi ?? -Infinity) ||
        Number(a.state === 'gone') - Number(b.state === 'gone') ||
        a.address.localeCompare(b.address),
    );
  }
}

function entry(link: Link, state: PhoneInRange['state']): PhoneInRange {
  return {
    address: link.address,
    ...(link.deviceId !== undefined ? { deviceId: link.deviceId } : {}),
    ...(link.profile !== undefined ? { profile: link.profile } : {}),
    ...(link.rssi !== undefined ? { rssi: link.rssi } : {}),
    state,
    ...(link.lastSeen !== undefined ? { lastSeen: link.lastSeen } : {}),
  };
}
