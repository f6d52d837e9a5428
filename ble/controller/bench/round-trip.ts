/**
 * The virtual controller's benchmark workload: a phone (noble) finds the echo peripheral
 * (@stoprocent/bleno), connects, discovers its service, subscribes, writes and waits for the
 * notification that echoes the write. Both stacks run in this process on one Air.
 *
 * In `realistic` mode each sample also carries the radio model's own floor: the time during
 * which some receiver was waiting on the modelled radio (RadioLedger), so what the stacks
 * and the emulator add on top can be reported.
 */
import { performance } from 'node:perf_hooks';
import { Air, TimingMode } from '../air';
import { VirtualController } from '../controller';
import { hciDriverFor } from '../stack-seam';
import { ECHO_CHAR, ECHO_SERVICE, NOTIFY_CHAR, startEchoPeripheral } from '../demo/echo-peripheral';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports -- the stacks ship no types */

export interface RoundTripSample {
  /** connect + discover + subscribe + write + notify, from scan start, ms. */
  totalMs: number;
  /** write + notification alone, on the open connection, ms. */
  echoMs: number;
  /** Radio-model time inside totalMs (0 in fast mode), ms. */
  radioMs: number;
}

export interface RoundTripOptions {
  timing: TimingMode;
  iterations: number;
  /** Called after each sample (progress lines). */
  onSample?: (i: number, sample: RoundTripSample) => void;
}

export async function measureRoundTrips(options: RoundTripOptions): Promise<RoundTripSample[]> {
  const air = new Air({ timing: options.timing });
  const reader = new VirtualController(air, { address: 'c0:de:be:00:00:01', position: 0 });
  const phone = new VirtualController(air, { address: 'c0:de:be:00:00:02', position: 1.5 });
  const readerDriver = hciDriverFor(reader);
  const phoneDriver = hciDriverFor(phone);
  const bleno = require('@stoprocent/bleno').withBindings('hci', { hciDriver: readerDriver });
  const noble = require('@stoprocent/noble').withBindings('hci', { hciDriver: phoneDriver });
  const peripheral = startEchoPeripheral(bleno, 'stoprocent', 'bench-reader');
  await peripheral.ready;
  await noble.waitForPoweredOnAsync(5000);

  const samples: RoundTripSample[] = [];
  for (let i = 0; i < options.iterations; i++) {
    air.ledger.start();
    const startClock = air.clock.now();
    const start = performance.now();
    const found = new Promise<any>((resolve) => noble.once('discover', resolve));
    await noble.startScanningAsync([ECHO_SERVICE], false);
    const p = await found;
    await noble.stopScanningAsync();
    await p.connectAsync();
    const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
      [ECHO_SERVICE],
      [ECHO_CHAR, NOTIFY_CHAR],
    );
    const echo = characteristics.find((c: any) => c.uuid === ECHO_CHAR);
    const notify = characteristics.find((c: any) => c.uuid === NOTIFY_CHAR);
    await notify.subscribeAsync();
    const echoStart = performance.now();
    const notified = new Promise<void>((resolve) => notify.once('data', () => resolve()));
    await echo.writeAsync(Buffer.from(`ping ${i}`), false);
    await notified;
    const end = performance.now();
    const radioMs = options.timing === 'fast' ? 0 : air.ledger.busyMs(startClock, air.clock.now());
    air.ledger.stop();
    const sample = { totalMs: end - start, echoMs: end - echoStart, radioMs };
    samples.push(sample);
    options.onSample?.(i, sample);
    // bleno advertises again once it has seen the disconnect.
    const released = new Promise<void>((resolve) => peripheral.once('disconnect', () => resolve()));
    await p.disconnectAsync();
    await released;
  }
  noble.stop();
  peripheral.stop();
  reader.close();
  phone.close();
  return samples;
}
