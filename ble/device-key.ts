import { createPrivateKey, createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newDeviceKey, spkiBase64 } from './cose';

/** The phone's identity: its device id and P-256 key pair (the app's secure storage). */
export interface DeviceKey {
  deviceId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

interface DeviceKeyFile {
  deviceId: string;
  /** PKCS#8 PEM of the P-256 private key. */
  privateKey: string;
}

export function createDeviceKey(deviceId = `phone-${randomBytes(6).toString('hex')}`): DeviceKey {
  return { deviceId, ...newDeviceKey() };
}

/** Writes the key file (mode 0600): the private key never leaves it. */
export function saveDeviceKey(file: string, key: DeviceKey): void {
  const body: DeviceKeyFile = {
    deviceId: key.deviceId,
    privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
}

/** Reads a key file; throws a one-line reason when it is missing or not a P-256 key file. */
export function loadDeviceKey(file: string): DeviceKey {
  let body: Partial<DeviceKeyFile>;
  try {
    body = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DeviceKeyFile>;
  } catch (err) {
    throw new Error(`cannot read device key ${file}: ${(err as Error).message}`);
  }
  if (typeof body.deviceId !== 'string' || typeof body.privateKey !== 'string') {
    throw new Error(`device key ${file} has no deviceId/privateKey`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(body.privateKey);
  } catch (err) {
    throw new Error(`device key ${file}: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`device key ${file} is not a P-256 key`);
  }
  return { deviceId: body.deviceId, privateKey, publicKey: createPublicKey(privateKey) };
}

/** What the host's Raw Data shows for this key. */
export function rawDataOf(key: DeviceKey): { deviceId: string; publicKey: string } {
  return { deviceId: key.deviceId, publicKey: spkiBase64(key.publicKey) };
}
