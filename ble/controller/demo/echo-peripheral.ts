/**
 * A small bleno GATT app used by the conformance suite, the benchmark and the README: it
 * runs unchanged on @stoprocent/bleno and @abandonware/bleno (their callback signatures
 * differ only by the leading `connection` argument of @stoprocent).
 *
 * Service ECHO_SERVICE: INFO (read) returns a fixed text; ECHO (read, write, long writes)
 * keeps the last value written and notifies it back on NOTIFY (notify) when subscribed.
 */
import { EventEmitter } from 'node:events';

export const ECHO_SERVICE = '5ca1ab1e00014c8a9b3e2f0c0d0e0f10';
export const INFO_CHAR = '5ca1ab1e00024c8a9b3e2f0c0d0e0f10';
export const ECHO_CHAR = '5ca1ab1e00034c8a9b3e2f0c0d0e0f10';
export const NOTIFY_CHAR = '5ca1ab1e00044c8a9b3e2f0c0d0e0f10';
export const INFO_TEXT = 'reader-sim virtual controller conformance';

export type BlenoFlavor = 'stoprocent' | 'abandonware';

/* eslint-disable @typescript-eslint/no-explicit-any -- bleno ships no types */
type Bleno = any;

export interface EchoPeripheral extends EventEmitter {
  readonly bleno: Bleno;
  /** Resolves once advertising has started. */
  ready: Promise<void>;
  /** Disconnects every central (the peripheral side ends the link). */
  disconnectAll(): void;
  stop(): void;
}

export function startEchoPeripheral(
  bleno: Bleno,
  flavor: BlenoFlavor,
  name: string,
): EchoPeripheral {
  const events = new EventEmitter() as EchoPeripheral;
  let value = Buffer.from('hello');
  let notify: ((data: Buffer) => void) | undefined;
  let notifySize = 20;
  // @stoprocent passes the connection first; @abandonware does not.
  const args = (list: unknown[]) => (flavor === 'stoprocent' ? list.slice(1) : list);

  const info = new bleno.Characteristic({
    uuid: INFO_CHAR,
    properties: ['read'],
    onReadRequest: (...a: unknown[]) => {
      const [offset, callback] = args(a) as [number, (r: number, d?: Buffer) => void];
      callback(bleno.Characteristic.RESULT_SUCCESS, Buffer.from(INFO_TEXT).subarray(offset));
    },
  });
  const notifier = new bleno.Characteristic({
    uuid: NOTIFY_CHAR,
    properties: ['notify'],
    onSubscribe: (...a: unknown[]) => {
      const [maxValueSize, update] = args(a) as [number, (d: Buffer) => void];
      notify = update;
      notifySize = maxValueSize;
      events.emit('subscribe');
    },
    onUnsubscribe: () => {
      notify = undefined;
    },
  });
  const echo = new bleno.Characteristic({
    uuid: ECHO_CHAR,
    properties: ['read', 'write'],
    onReadRequest: (...a: unknown[]) => {
      const [offset, callback] = args(a) as [number, (r: number, d?: Buffer) => void];
      callback(bleno.Characteristic.RESULT_SUCCESS, value.subarray(offset));
    },
    onWriteRequest: (...a: unknown[]) => {
      const [data, offset, , callback] = args(a) as [Buffer, number, boolean, (r: number) => void];
      if (offset !== 0) {
        callback(bleno.Characteristic.RESULT_INVALID_OFFSET);
        return;
      }
      value = Buffer.from(data);
      callback(bleno.Characteristic.RESULT_SUCCESS);
      events.emit('write', value);
      notify?.(value.subarray(0, notifySize));
    },
  });
  const service = new bleno.PrimaryService({
    uuid: ECHO_SERVICE,
    characteristics: [info, echo, notifier],
  });

  events.ready = new Promise<void>((resolve, reject) => {
    bleno.on('stateChange', (state: string) => {
      if (state === 'poweredOn') bleno.startAdvertising(name, [ECHO_SERVICE]);
      else if (state === 'unsupported' || state === 'unauthorized')
        reject(new Error(`bleno ${state}`));
    });
    bleno.on('advertisingStart', (error?: Error) => {
      if (error) {
        reject(error);
        return;
      }
      bleno.setServices([service]);
      resolve();
    });
  });
  bleno.on('accept', (address: string) => events.emit('accept', address));
  bleno.on('disconnect', (address: string) => {
    notify = undefined;
    events.emit('disconnect', address);
  });
  Object.assign(events, {
    bleno,
    disconnectAll: () => bleno.disconnect(),
    stop: () => {
      bleno.stopAdvertising();
      bleno.disconnect();
    },
  });
  return events;
}
