import { Position } from './radio-model';

/**
 * The contract between a controller and the air it transmits on. The in-process Air and
 * the RemoteAir client (another process's air over a socket) both implement AirAccess, so
 * a controller never knows which one it is on.
 */

export type AddressType = 'public' | 'random';

export interface StationProfile {
  /** BD_ADDR as aa:bb:cc:dd:ee:ff (most significant byte first, as hosts print it). */
  address: string;
  addressType: AddressType;
  txPowerDbm: number;
  position: Position;
}

export interface AdvertisingSet {
  /** AdvType of the PDU: ADV_IND, ADV_SCAN_IND or ADV_NONCONN_IND. */
  eventType: number;
  intervalMs: number;
  data: Buffer;
  scanResponse: Buffer;
}

export interface ScanSettings {
  active: boolean;
  filterDuplicates: boolean;
}

/** Connection parameters in HCI units: interval 1.25 ms, timeout 10 ms. */
export interface ConnectionParams {
  intervalUnits: number;
  latency: number;
  timeoutUnits: number;
}

export interface AdvertisingReport {
  eventType: number;
  address: string;
  addressType: AddressType;
  data: Buffer;
  rssi: number;
}

export interface LinkUp {
  linkId: number;
  role: 'central' | 'peripheral';
  peerAddress: string;
  peerAddressType: AddressType;
  params: ConnectionParams;
  rssi: number;
}

/** What the air tells a station. */
export interface StationListener {
  advertisingReport(report: AdvertisingReport): void;
  /** Legacy connectable advertising ends when a central connects to it. */
  advertisingEnded(): void;
  linkUp(link: LinkUp): void;
  aclData(linkId: number, boundary: number, data: Buffer): void;
  /** `packets` ACL packets this station sent on the link were acknowledged by the peer. */
  aclTransmitted(linkId: number, packets: number): void;
  linkUpdated(linkId: number, params: ConnectionParams): void;
  linkRssi(linkId: number, rssi: number): void;
  linkDown(linkId: number, reason: number): void;
}

/** What a station asks of the air. */
export interface RadioPort {
  setAdvertising(set: AdvertisingSet | null): void;
  setScanning(scan: ScanSettings | null): void;
  initiate(peerAddress: string, params: ConnectionParams): void;
  cancelInitiate(): void;
  sendAcl(linkId: number, boundary: number, data: Buffer): void;
  /** `reason` is what the peer is told; the local side is told Local Host Terminated. */
  disconnect(linkId: number, reason: number): void;
  updateConnection(linkId: number, params: ConnectionParams): void;
  setPosition(position: Position): void;
  leave(): void;
}

export interface AirAccess {
  join(profile: StationProfile, listener: StationListener): RadioPort;
}
