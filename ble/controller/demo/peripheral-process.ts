/**
 * The echo peripheral in a process of its own, on an air served by another process:
 *   node -r ts-node/register/transpile-only ble/controller/demo/peripheral-process.ts \
 *     --stack stoprocent|abandonware --air /tmp/air.sock [--name NAME] [--address ADDR]
 * Prints one JSON line per event (ready, accept, disconnect, write, subscribe); reads
 * commands on stdin, one per line: `disconnect`, `stats` (the controller's counters), `exit`.
 */
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { RemoteAir } from '../air-link';
import { VirtualController } from '../controller';
import { hciDriverFor, useAbandonwareBleno } from '../stack-seam';
import { BlenoFlavor, startEchoPeripheral } from './echo-peripheral';

function stoprocentBleno(hciDriver: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@stoprocent/bleno').withBindings('hci', { hciDriver });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stack: { type: 'string', default: 'stoprocent' },
      air: { type: 'string' },
      port: { type: 'string' },
      name: { type: 'string', default: 'reader-sim-echo' },
      address: { type: 'string' },
      btsnoop: { type: 'string' },
    },
  });
  const stack = values.stack as BlenoFlavor;
  if (stack !== 'stoprocent' && stack !== 'abandonware') throw new Error(`unknown stack ${stack}`);
  if (!values.air && !values.port) throw new Error('--air PATH or --port N is required');
  const air = await RemoteAir.connect(
    values.air ? { path: values.air } : { port: Number(values.port) },
  );
  const controller = new VirtualController(air, {
    address: values.address,
    btsnoopPath: values.btsnoop,
  });
  const say = (ev: string, detail: object = {}) =>
    process.stdout.write(`${JSON.stringify({ ev, ...detail })}\n`);
  // The driver name must exist before @stoprocent/bleno is first required.
  const bleno =
    stack === 'abandonware'
      ? useAbandonwareBleno(controller)
      : stoprocentBleno(hciDriverFor(controller));
  const peripheral = startEchoPeripheral(bleno, stack, values.name!);
  peripheral.on('accept', (address: string) => say('accept', { address }));
  peripheral.on('disconnect', (address: string) => say('disconnect', { address }));
  peripheral.on('subscribe', () => say('subscribe'));
  peripheral.on('write', (value: Buffer) =>
    say('write', { length: value.length, hex: value.toString('hex') }),
  );
  await peripheral.ready;
  say('ready', { address: controller.address });
  air.on('close', () => process.exit(0));
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'disconnect') peripheral.disconnectAll();
    if (line === 'stats') say('stats', { ...controller.stats });
    if (line === 'exit') {
      controller.close();
      process.exit(0);
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
