import { seededRandom } from '../../firmware/foundation/random';
import { Clock, SystemClock, Timer } from '../../firmware/foundation/clock';
import {
  AdvertisingSet,
  AirAccess,
  ConnectionParams,
  RadioPort,
  ScanSettings,
  StationListener,
  StationProfile,
} from './air-port';
import { AdvType, Status } from './hci-spec';
import {
  DEFAULT_PATH_LOSS,
  PathLossModel,
  Position,
  dataExchangeMs,
  distanceBetween,
  meanRssi,
  pduAirtimeMs,
  sampleRssi,
} from './radio-model';
import { Delivery, RadioLedger } from './delivery';

/**
 * `fast`: no radio delays; everything is delivered on the next turn of the event loop, in
 * order. `realistic`: advertising events every advertising interval (+0-10 ms advDelay),
 * CONNECT_IND on the advertiser's next event, ACL data on connection-event anchors with
 * LE 1M airtime. Timeouts (supervision) run on the clock in both modes.
 */
export type TimingMode = 'fast' | 'realistic';

export interface AirOptions {
  clock?: Clock;
  timing?: TimingMode;
  pathLoss?: Partial<PathLossModel>;
  /** Seed of the shadowing noise and advDelay draws. */
  seed?: number;
}

/** Transmit-window delay between CONNECT_IND and the first anchor (Core Vol 6 Part B 4.5.3). */
const TRANSMIT_WINDOW_DELAY_MS = 1.25;
/** CONNECT_IND payload: InitA 6 + AdvA 6 + LLData 22. */
const CONNECT_IND_BYTES = 34;
const ADV_HEADER_BYTES = 6;

interface Station {
  id: number;
  profile: StationProfile;
  listener: StationListener;
  inbox: Delivery;
  advertising: AdvertisingSet | null;
  advTimer: Timer | undefined;
  lastAdvEventAt: number;
  scanning: ScanSettings | null;
  scanningSince: number;
  seen: Set<string>;
  initiating: { peer: string; params: ConnectionParams; since: number } | null;
  links: Set<number>;
}

interface Link {
  id: number;
  central: Station;
  peripheral: Station;
  params: ConnectionParams;
  firstAnchor: number;
  /** End of the connection event in progress (realistic mode). */
  busyUntil: number;
  toCentral: Delivery;
  toPeripheral: Delivery;
  supervision: Timer | undefined;
  up: boolean;
}

/** The shared medium of one simulation: who advertises, who scans, who is connected. */
export class Air implements AirAccess {
  readonly clock: Clock;
  readonly timing: TimingMode;
  readonly pathLoss: PathLossModel;
  readonly ledger = new RadioLedger();
  private readonly random: () => number;
  private readonly stations = new Map<number, Station>();
  private readonly links = new Map<number, Link>();
  private nextStationId = 1;
  private nextLinkId = 1;
  /**
   * The stations scanning or initiating, in join order (as `stations` iterates): what an
   * advertising event reaches. A site of a thousand readers advertises all the time while
   * few phones listen; rebuilt only when someone starts or stops listening.
   */
  private listenersCache: Station[] | undefined;

  constructor(options: AirOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.timing = options.timing ?? 'fast';
    this.pathLoss = { ...DEFAULT_PATH_LOSS, ...options.pathLoss };
    this.random = seededRandom(options.seed ?? 1);
  }

  join(profile: StationProfile, listener: StationListener): RadioPort {
    const station: Station = {
      id: this.nextStationId++,
      profile: { ...profile, position: { ...profile.position } },
      listener,
      inbox: this.newDelivery(),
      advertising: null,
      advTimer: undefined,
      lastAdvEventAt: 0,
      scanning: null,
      scanningSince: 0,
      seen: new Set(),
      initiating: null,
      links: new Set(),
    };
    this.stations.set(station.id, station);
    return {
      setAdvertising: (set) => this.setAdvertising(station, set),
      setScanning: (scan) => this.setScanning(station, scan),
      initiate: (peer, params) => this.initiate(station, peer, params),
      cancelInitiate: () => {
        station.initiating = null;
        this.listenersCache = undefined;
      },
      sendAcl: (linkId, boundary, data) => this.sendAcl(station, linkId, boundary, data),
      disconnect: (linkId, reason) => this.disconnect(station, linkId, reason),
      updateConnection: (linkId, params) => this.updateConnection(station, linkId, params),
      setPosition: (position) => this.setPosition(station, position),
      leave: () => this.leave(station),
    };
  }

  /** Stations currently on the air (for status displays and tests). */
  get stationCount(): number {
    return this.stations.size;
  }

  /** RSSI a receiver at `to` would measure from `from` right now, without noise. */
  meanRssiBetween(from: StationProfile, to: StationProfile): number {
    return meanRssi(from.txPowerDbm, distanceBetween(from.position, to.position), this.pathLoss);
  }

  private inRange(a: Station, b: Station): boolean {
    return this.meanRssiBetween(a.profile, b.profile) >= this.pathLoss.sensitivityDbm;
  }

  private rssiAt(from: Station, to: Station): number {
    return sampleRssi(this.meanRssiBetween(from.profile, to.profile), this.pathLoss, this.random);
  }

  private newDelivery(): Delivery {
    return new Delivery(this.clock, this.timing === 'fast', this.ledger);
  }

  // --- advertising and scanning -------------------------------------------------------

  private setAdvertising(station: Station, set: AdvertisingSet | null): void {
    this.clock.clearTimeout(station.advTimer);
    station.advTimer = undefined;
    station.advertising = set;
    if (!set) return;
    station.lastAdvEventAt = this.clock.now();
    // In fast mode the first event goes out at once, so discovery costs no radio time.
    this.scheduleAdvEvent(station, this.timing === 'fast' ? 0 : this.advEventDelay(set));
  }

  private advEventDelay(set: AdvertisingSet): number {
    return set.intervalMs + (this.timing === 'realistic' ? this.random() * 10 : 0);
  }

  private scheduleAdvEvent(station: Station, delayMs: number): void {
    station.advTimer = this.clock.setTimeout(() => {
      const set = station.advertising;
      if (!set) return;
      this.advertisingEvent(station, set);
      if (station.advertising === set) this.scheduleAdvEvent(station, this.advEventDelay(set));
    }, delayMs);
  }

  /** One advertising event: scanners in range hear it, an initiator waiting for it connects. */
  private advertisingEvent(advertiser: Station, set: AdvertisingSet): void {
    const now = this.clock.now();
    const previous = advertiser.lastAdvEventAt;
    advertiser.lastAdvEventAt = now;
    for (const other of this.listeners()) {
      if (other === advertiser || !this.inRange(advertiser, other)) continue;
      if (other.initiating && set.eventType === AdvType.advInd) {
        if (other.initiating.peer === advertiser.profile.address) {
          this.connect(other, advertiser, Math.max(previous, other.initiating.since));
          return; // legacy advertising ends with the connection
        }
      }
      if (other.scanning)
        this.report(advertiser, other, set, Math.max(previous, other.scanningSince));
    }
  }

  private listeners(): Station[] {
    this.listenersCache ??= [...this.stations.values()].filter(
      (s) => s.scanning !== null || s.initiating !== null,
    );
    return this.listenersCache;
  }

  private report(
    advertiser: Station,
    scanner: Station,
    set: AdvertisingSet,
    waitFrom: number,
  ): void {
    const scan = scanner.scanning!;
    const key = (type: number) => `${advertiser.profile.address}/${type}`;
    const send = (eventType: number, data: Buffer, delayMs: number) => {
      if (scan.filterDuplicates) {
        if (scanner.seen.has(key(eventType))) return;
        scanner.seen.add(key(eventType));
      }
      const report = {
        eventType,
        address: advertiser.profile.address,
        addressType: advertiser.profile.addressType,
        data,
        rssi: this.rssiAt(advertiser, scanner),
      };
      scanner.inbox.push(delayMs, () => scanner.listener.advertisingReport(report), waitFrom);
    };
    const advAir = this.airtime(pduAirtimeMs(ADV_HEADER_BYTES + set.data.length));
    send(set.eventType, set.data, advAir);
    const scannable = set.eventType === AdvType.advInd || set.eventType === AdvType.advScanInd;
    if (scan.active && scannable) {
      // SCAN_REQ (12 bytes) and SCAN_RSP follow the ADV PDU, each after T_IFS.
      const rspAir = this.airtime(
        pduAirtimeMs(12) + pduAirtimeMs(ADV_HEADER_BYTES + set.scanResponse.length) + 0.3,
      );
      send(AdvType.scanRsp, set.scanResponse, advAir + rspAir);
    }
  }

  private airtime(ms: number): number {
    return this.timing === 'fast' ? 0 : ms;
  }

  private setScanning(station: Station, scan: ScanSettings | null): void {
    const wasScanning = station.scanning !== null;
    station.scanning = scan;
    this.listenersCache = undefined;
    if (!scan) {
      station.seen.clear();
      return;
    }
    if (wasScanning) return;
    station.scanningSince = this.clock.now();
    // Fast mode: hear every advertiser at once instead of waiting for its next event.
    if (this.timing === 'fast') {
      for (const other of this.stations.values()) {
        if (other !== station && other.advertising && this.inRange(other, station)) {
          this.report(other, station, other.advertising, station.scanningSince);
        }
      }
    }
  }

  // --- connections ---------------------------------------------------------------------

  private initiate(station: Station, peer: string, params: ConnectionParams): void {
    station.initiating = { peer, params, since: this.clock.now() };
    this.listenersCache = undefined;
    if (this.timing !== 'fast') return;
    for (const other of this.stations.values()) {
      const set = other.advertising;
      if (other.profile.address === peer && set && set.eventType === AdvType.advInd) {
        if (this.inRange(other, station)) this.connect(station, other, station.initiating.since);
        return;
      }
    }
  }

  private connect(central: Station, peripheral: Station, waitFrom: number): void {
    const params = central.initiating!.params;
    central.initiating = null;
    this.listenersCache = undefined;
    this.clock.clearTimeout(peripheral.advTimer);
    peripheral.advTimer = undefined;
    peripheral.advertising = null;
    const setupMs = this.airtime(pduAirtimeMs(CONNECT_IND_BYTES) + TRANSMIT_WINDOW_DELAY_MS);
    const link: Link = {
      id: this.nextLinkId++,
      central,
      peripheral,
      params: { ...params },
      firstAnchor: this.clock.now() + setupMs,
      busyUntil: 0,
      toCentral: this.newDelivery(),
      toPeripheral: this.newDelivery(),
      supervision: undefined,
      up: true,
    };
    this.links.set(link.id, link);
    central.links.add(link.id);
    peripheral.links.add(link.id);
    const announce = (self: Station, peer: Station, role: 'central' | 'peripheral') => {
      const up = {
        linkId: link.id,
        role,
        peerAddress: peer.profile.address,
        peerAddressType: peer.profile.addressType,
        params: { ...link.params },
        rssi: this.rssiAt(peer, self),
      };
      self.inbox.push(setupMs, () => self.listener.linkUp(up), waitFrom);
    };
    peripheral.inbox.push(0, () => peripheral.listener.advertisingEnded());
    announce(central, peripheral, 'central');
    announce(peripheral, central, 'peripheral');
  }

  private linkOf(station: Station, linkId: number): Link | undefined {
    const link = this.links.get(linkId);
    return link && link.up && (link.central === station || link.peripheral === station)
      ? link
      : undefined;
  }

  private sendAcl(from: Station, linkId: number, boundary: number, data: Buffer): void {
    const link = this.linkOf(from, linkId);
    if (!link) return;
    const to = link.central === from ? link.peripheral : link.central;
    const channel = link.central === from ? link.toPeripheral : link.toCentral;
    const now = this.clock.now();
    let delay = 0;
    if (this.timing === 'realistic') {
      // Data goes out in the connection event in progress, or waits for the next anchor.
      const start = link.busyUntil > now ? link.busyUntil : this.nextAnchor(link, now);
      link.busyUntil = start + dataExchangeMs(data.length);
      delay = link.busyUntil - now;
    }
    const payload = Buffer.from(data);
    channel.push(delay, () => {
      if (!link.up) return;
      to.listener.aclData(link.id, boundary, payload);
      from.listener.aclTransmitted(link.id, 1);
    });
  }

  private nextAnchor(link: Link, now: number): number {
    if (now <= link.firstAnchor) return link.firstAnchor;
    const interval = link.params.intervalUnits * 1.25;
    return link.firstAnchor + Math.ceil((now - link.firstAnchor) / interval) * interval;
  }

  private disconnect(from: Station, linkId: number, reason: number): void {
    const link = this.linkOf(from, linkId);
    if (!link) return;
    // LL_TERMINATE_IND goes out on the next anchor; both sides learn of it then.
    const now = this.clock.now();
    const delay =
      this.timing === 'realistic' ? this.nextAnchor(link, now) + dataExchangeMs(2) - now : 0;
    this.takeDown(link, delay, (station) =>
      station === from ? Status.localHostTerminated : reason,
    );
  }

  private takeDown(link: Link, delayMs: number, reasonFor: (s: Station) => number): void {
    link.up = false;
    this.clock.clearTimeout(link.supervision);
    link.toCentral.clear();
    link.toPeripheral.clear();
    this.links.delete(link.id);
    for (const station of [link.central, link.peripheral]) {
      station.links.delete(link.id);
      const reason = reasonFor(station);
      station.inbox.push(delayMs, () => station.listener.linkDown(link.id, reason));
    }
  }

  private updateConnection(from: Station, linkId: number, params: ConnectionParams): void {
    const link = this.linkOf(from, linkId);
    if (!link) return;
    const now = this.clock.now();
    // The new parameters apply at an instant a few events ahead (6 is what controllers use).
    const delay =
      this.timing === 'realistic'
        ? this.nextAnchor(link, now) + 6 * link.params.intervalUnits * 1.25 - now
        : 0;
    link.params = { ...params };
    link.firstAnchor = now + delay;
    for (const station of [link.central, link.peripheral]) {
      station.inbox.push(delay, () => station.listener.linkUpdated(link.id, { ...params }));
    }
  }

  // --- positions, range and supervision ----------------------------------------------

  private setPosition(station: Station, position: Position): void {
    station.profile.position = { ...position };
    for (const linkId of station.links) {
      const link = this.links.get(linkId);
      if (!link) continue;
      const peer = link.central === station ? link.peripheral : link.central;
      if (this.inRange(station, peer)) {
        this.clock.clearTimeout(link.supervision);
        link.supervision = undefined;
        link.toCentral.resume();
        link.toPeripheral.resume();
        const rssiHere = this.rssiAt(peer, station);
        const rssiThere = this.rssiAt(station, peer);
        station.inbox.push(0, () => station.listener.linkRssi(link.id, rssiHere));
        peer.inbox.push(0, () => peer.listener.linkRssi(link.id, rssiThere));
      } else if (!link.supervision) {
        // No packet gets through: the link survives only until the supervision timeout.
        link.toCentral.pause();
        link.toPeripheral.pause();
        link.supervision = this.clock.setTimeout(
          () => this.takeDown(link, 0, () => Status.connectionTimeout),
          link.params.timeoutUnits * 10,
        );
      }
    }
  }

  private leave(station: Station): void {
    if (!this.stations.has(station.id)) return;
    this.clock.clearTimeout(station.advTimer);
    station.advertising = null;
    station.scanning = null;
    station.initiating = null;
    this.listenersCache = undefined;
    for (const linkId of [...station.links]) {
      const link = this.links.get(linkId);
      if (!link) continue;
      // The peer hears nothing more: to it, this is a supervision timeout.
      const timeoutMs = link.params.timeoutUnits * 10;
      link.up = false;
      link.toCentral.clear();
      link.toPeripheral.clear();
      this.links.delete(link.id);
      station.links.delete(link.id);
      const peer = link.central === station ? link.peripheral : link.central;
      peer.links.delete(link.id);
      link.supervision = this.clock.setTimeout(
        () => peer.listener.linkDown(link.id, Status.connectionTimeout),
        this.timing === 'fast' ? 0 : timeoutMs,
      );
    }
    this.stations.delete(station.id);
    this.listenersCache = undefined;
  }
}
