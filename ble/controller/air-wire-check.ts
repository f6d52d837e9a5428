import { AdvertisingSet, ConnectionParams, ScanSettings, StationProfile } from './air-port';
import { Position } from './radio-model';

/**
 * Validation of what a remote process asks of the air. A served air trusts nothing on the
 * socket: a value the air could trip on later (inside a timer, where no caller could catch
 * it) is refused here, and the line is counted as malformed.
 */

const ADDRESS = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isBytes = (v: unknown, max: number): v is Buffer => Buffer.isBuffer(v) && v.length <= max;

export function isPosition(v: unknown): v is Position {
  return isRecord(v) && isFinite(v.x) && isFinite(v.y);
}

export function isStationProfile(v: unknown): v is StationProfile {
  return (
    isRecord(v) &&
    typeof v.address === 'string' &&
    ADDRESS.test(v.address) &&
    (v.addressType === 'public' || v.addressType === 'random') &&
    isFinite(v.txPowerDbm) &&
    v.txPowerDbm >= -127 &&
    v.txPowerDbm <= 20 &&
    isPosition(v.position)
  );
}

function isAdvertisingSet(v: unknown): v is AdvertisingSet {
  return (
    isRecord(v) &&
    isInt(v.eventType, 0, 3) &&
    isFinite(v.intervalMs) &&
    v.intervalMs >= 20 &&
    v.intervalMs <= 10_240 &&
    isBytes(v.data, 31) &&
    isBytes(v.scanResponse, 31)
  );
}

function isScanSettings(v: unknown): v is ScanSettings {
  return isRecord(v) && typeof v.active === 'boolean' && typeof v.filterDuplicates === 'boolean';
}

function isConnectionParams(v: unknown): v is ConnectionParams {
  return (
    isRecord(v) &&
    isInt(v.intervalUnits, 6, 0x0c80) &&
    isInt(v.latency, 0, 0x01f3) &&
    isInt(v.timeoutUnits, 0x0a, 0x0c80)
  );
}

const LINK_ID = (v: unknown) => isInt(v, 1, Number.MAX_SAFE_INTEGER);

/** Argument checks for each RadioPort method a client may call. */
export const PORT_ARGUMENTS: Record<string, (a: unknown[]) => boolean> = {
  setAdvertising: (a) => a.length === 1 && (a[0] === null || isAdvertisingSet(a[0])),
  setScanning: (a) => a.length === 1 && (a[0] === null || isScanSettings(a[0])),
  initiate: (a) =>
    a.length === 2 && typeof a[0] === 'string' && ADDRESS.test(a[0]) && isConnectionParams(a[1]),
  cancelInitiate: (a) => a.length === 0,
  sendAcl: (a) => a.length === 3 && LINK_ID(a[0]) && isInt(a[1], 0, 2) && isBytes(a[2], 0xffff),
  disconnect: (a) => a.length === 2 && LINK_ID(a[0]) && isInt(a[1], 0, 255),
  updateConnection: (a) => a.length === 2 && LINK_ID(a[0]) && isConnectionParams(a[1]),
  setPosition: (a) => a.length === 1 && isPosition(a[0]),
  leave: (a) => a.length === 0,
};
