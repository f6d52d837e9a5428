/**
 * The radio model: received signal strength from distance (log-distance path loss with
 * optional seeded Gaussian noise) and LE 1M airtime. Pure functions; noise draws from a
 * seeded source (firmware/foundation/random), so a seed gives the same RSSI sequence every run.
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

/** A standard normal sample (Box-Muller) from a uniform source such as firmware/foundation/random. */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** RSSI as a report carries it: an integer dBm in the HCI range -127..20. */
export function sampleRssi(mean: number, model: PathLossModel, random: () => number): number {
  const noisy = model.noiseSigmaDb > 0 ? mean + model.noiseSigmaDb * gaussian(random) : mean;
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
