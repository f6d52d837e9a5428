/**
 * The radio model: received signal strength from distance (log-distance path loss with
 * optional seeded Gaussian noise) and LE 1M airtime. Pure functions plus a seeded PRNG,
 * so a seed gives the same RSSI sequence every run.
 */

export interface PathLossModel {
  /** Path loss at the 1 m reference distance, dB (free space at 2.4 GHz is ~40 dB). */
  referenceLossDb: number;
  /** Path-loss exponent n (2 free space, 2.5-3 indoors). */
  exponent: number;
  /** Standard deviation of the shadowing noise, dB (0: none). */
  noiseSigmaDb: number;
  /** Weakest signal a receiver decodes, dBm; below it the peer is out of range. */
  sensitivityDbm: number;
}

export const DEFAULT_PATH_LOSS: PathLossModel = {
  referenceLossDb: 40,
  exponent: 2.5,
  noiseSigmaDb: 0,
  sensitivityDbm: -95,
};

export interface Position {
  x: number;
  y: number;
}

export function distanceBetween(a: Position, b: Position): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** Mean received power, dBm, at `meters` (clamped to 10 cm: the model is far-field). */
export function meanRssi(txPowerDbm: number, meters: number, model: PathLossModel): number {
  const d = Math.max(0.1, meters);
  return txPowerDbm - (model.referenceLossDb + 10 * model.exponent * Math.log10(d));
}

/** Mulberry32: small, fast, seedable; enough for shadowing noise. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal sample (Box-Muller). */
  gaussian(): number {
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** RSSI as a report carries it: an integer dBm in the HCI range -127..20. */
export function sampleRssi(mean: number, model: PathLossModel, random: SeededRandom): number {
  const noisy = model.noiseSigmaDb > 0 ? mean + model.noiseSigmaDb * random.gaussian() : mean;
  return Math.max(-127, Math.min(20, Math.round(noisy)));
}

/** LE 1M: 1 µs per bit. A PDU is preamble 1 + access address 4 + header 2 + payload + CRC 3. */
export function pduAirtimeMs(payloadBytes: number): number {
  return ((1 + 4 + 2 + payloadBytes + 3) * 8) / 1000;
}

/** Inter-frame space between packets of one event. */
export const T_IFS_MS = 0.15;

/** Airtime of a data PDU carrying `payloadBytes`, plus T_IFS and the peer's empty ack PDU. */
export function dataExchangeMs(payloadBytes: number): number {
  return pduAirtimeMs(payloadBytes) + T_IFS_MS + pduAirtimeMs(0) + T_IFS_MS;
}
