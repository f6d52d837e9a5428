import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { saveDeviceKey, type DeviceKey } from '../../ble/device-key';
import type { ResultMessage } from '../../ble/protocol';
import {
  explainHciError,
  type HciSocketFactory,
  type HciSocketLike,
  type PiBleConfig,
} from '../pi';
import { readerSimBin } from './package-root';

/**
 * The Pi rig's phone: `reader-sim phone unlock --hci` on a SECOND Bluetooth adapter (e.g. a
 * USB dongle beside the Pi's own, which the reader uses), chosen by @stoprocent/noble's
 * NOBLE_HCI_DEVICE_ID. It runs as its own process, as a phone is its own device: the reader
 * may use an HCI UART controller, which bluetooth-hci-socket applies to every socket of the
 * process that set it, and noble's raw-mode poll never ends inside a long-lived process.
 */

/** The variables that would put the phone's noble on the reader's HCI UART controller. */
const UART_ENV = [
  'BLUETOOTH_HCI_SOCKET_UART_PORT',
  'BLUETOOTH_HCI_SOCKET_UART_BAUDRATE',
  'BLUETOOTH_HCI_SOCKET_FORCE_UART',
];
/** How long the phone may look for the reader and wait for its answer. */
const PHONE_TIMEOUT_MS = 10_000;
/** On top: the CLI's own start (ts-node on a Pi takes seconds) and noble's power-on wait. */
const START_BUDGET_MS = 30_000;

export const PHONE_HCI_ENV = 'RIG_PHONE_HCI';
const SEE_DOCS = 'docs/PI.md, HIL rig';

/** RIG_PHONE_HCI: the phone adapter's number (default 1: hci1), or `none` for a rig without. */
export function phoneAdapterOf(env: NodeJS.ProcessEnv): number | 'none' {
  const value = env[PHONE_HCI_ENV] ?? '1';
  if (value === 'none') return 'none';
  if (!/^[0-9]+$/.test(value) || Number(value) > 15) {
    throw new Error(
      `${PHONE_HCI_ENV} must be the phone adapter's number 0-15 (hciN) or none, got '${value}'`,
    );
  }
  return Number(value);
}

/** Config alone, before anything is opened: the phone cannot share the reader's adapter. */
export function phoneAdapterProblem(
  phone: number | 'none',
  reader: PiBleConfig,
): string | undefined {
  if (phone !== 'none' && reader.adapter === 'hci-socket' && reader.hciDevice === phone) {
    return `${PHONE_HCI_ENV}=${phone} is the reader's own adapter (pi.json ble.hciDevice ${phone}); the phone needs a second adapter, e.g. a USB Bluetooth dongle (${SEE_DOCS})`;
  }
  return undefined;
}

/** Why this rig has no phone, when it has none (the phone scenarios fail with this). */
export function noPhoneReason(phone: number | 'none', reader: PiBleConfig): string | undefined {
  if (reader.adapter === 'none') {
    return `no phone on this rig: the reader runs without BLE (pi.json "ble": {"adapter": "none"}); the phone scenarios need the reader's adapter and a second one for the phone (${PHONE_HCI_ENV}, ${SEE_DOCS})`;
  }
  if (phone === 'none') {
    return `no phone on this rig (${PHONE_HCI_ENV}=none); the phone scenarios need a second Bluetooth adapter for the phone: ${PHONE_HCI_ENV}=N for hciN (${SEE_DOCS})`;
  }
  return undefined;
}

function kernelHciSocket(): HciSocketLike {
  // The kernel socket whatever UART variables this process has (a reader on an HCI UART
  // sets them): the phone's adapter is always a kernel one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadDriver } = require('@stoprocent/bluetooth-hci-socket') as {
    loadDriver(type: 'native'): new () => HciSocketLike;
  };
  const Socket = loadDriver('native');
  return new Socket();
}

/**
 * Proves the phone's adapter exists, can be opened and is up; throws one line saying what
 * is missing and how to fix it.
 */
export async function checkPhoneAdapter(
  hciDevice: number,
  hciSocket: HciSocketFactory = kernelHciSocket,
): Promise<void> {
  const dev = `hci${hciDevice}`;
  let up: boolean;
  try {
    const socket = hciSocket();
    socket.bindRaw(hciDevice);
    up = socket.isDevUp();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODEV' || /no such device/i.test((err as Error).message)) {
      throw new Error(
        `no second Bluetooth adapter ${dev} for the phone (${PHONE_HCI_ENV}=${hciDevice}): plug in a USB Bluetooth adapter (\`hciconfig -a\` then lists the reader's and the phone's), set ${PHONE_HCI_ENV} to its number, or ${PHONE_HCI_ENV}=none to run without the phone scenarios (${SEE_DOCS})`,
      );
    }
    throw new Error(
      `the phone's adapter ${dev} (${PHONE_HCI_ENV}=${hciDevice}): ${explainHciError(err, hciDevice)}`,
    );
  }
  if (!up) {
    throw new Error(
      `the phone's adapter ${dev} (${PHONE_HCI_ENV}=${hciDevice}) is down: sudo hciconfig ${dev} up`,
    );
  }
}

/** `reader-sim phone unlock --hci` processes on one adapter. */
export class AdapterPhone {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-phone-'));
  private readonly children = new Set<ChildProcess>();

  constructor(
    readonly hciDevice: number,
    private readonly timeoutMs = PHONE_TIMEOUT_MS,
  ) {}

  /**
   * Presents `key`'s credential; resolves with the reader's answer as soon as the phone
   * prints it (its JSON result line), so the door is still doing what the answer says.
   */
  unlock(key: DeviceKey): Promise<ResultMessage> {
    const keyFile = path.join(this.dir, `${key.deviceId.replace(/[^A-Za-z0-9.-]+/g, '_')}.json`);
    saveDeviceKey(keyFile, key);
    const env: NodeJS.ProcessEnv = { ...process.env, NOBLE_HCI_DEVICE_ID: String(this.hciDevice) };
    for (const name of UART_ENV) delete env[name];
    const args = ['phone', 'unlock', '--hci', '--json', '--key', keyFile];
    const bin = readerSimBin();
    const child = spawn(process.execPath, [bin, ...args, '--timeout', String(this.timeoutMs)], {
      cwd: path.dirname(path.dirname(bin)),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    const said: string[] = [];
    const what = `reader-sim phone unlock --hci on hci${this.hciDevice}`;
    return new Promise<ResultMessage>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        settle(() =>
          reject(
            new Error(
              `${what}: no answer within ${this.timeoutMs + START_BUDGET_MS} ms; ${tail()}`,
            ),
          ),
        );
      }, this.timeoutMs + START_BUDGET_MS);
      const tail = () => `it said: ${said.slice(-4).join(' | ') || '(nothing)'}`;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        said.push(line);
        let parsed: { result?: ResultMessage } | undefined;
        try {
          parsed = JSON.parse(line) as { result?: ResultMessage };
        } catch {
          return; // noble's own warnings are plain text
        }
        const result = parsed?.result;
        if (result && typeof result.status === 'string') settle(() => resolve(result));
      });
      createInterface({ input: child.stderr! }).on('line', (line) => said.push(line));
      child.once('error', (err) => settle(() => reject(new Error(`${what}: ${err.message}`))));
      child.once('close', (code) => {
        this.children.delete(child);
        settle(() => reject(new Error(`${what} exited ${code} without an answer; ${tail()}`)));
      });
    });
  }

  /** Waits for (or ends) the phone processes still closing their adapter, then cleans up. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGTERM'), 5000);
            child.once('close', () => {
              clearTimeout(kill);
              resolve();
            });
          }),
      ),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
