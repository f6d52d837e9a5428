import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { boot } from '../../firmware/boot';
import { SystemClock } from '../../firmware/clock';
import { Keypad } from '../../firmware/inputs';
import { createLogger } from '../../firmware/log';
import { attachPanel, PANEL_HELP } from '../../firmware/sim-panel';
import { ConsoleIndicatorDriver } from '../../led';
import { Command, UsageError } from '../command';

export const start: Command = {
  name: 'start',
  summary: 'run the reader (sim profile: console LED, flash image under the data dir)',
  usage: [
    'Usage: reader-sim start [--profile sim] [--data DIR] [--api-port N] [--reader-id ID]',
    '',
    'Runs this reader: mounts the flash image DIR/flash.img (default ./data), loads the',
    'config, drives the LED/buzzer on the console and the relay in the log, and decides',
    'every presentation locally. Logs are JSON lines (pretty on a terminal).',
    'SIGINT/SIGTERM: finishes the commit in flight, relocks, closes the flash, exits 0.',
    '',
    '  --profile sim   the only profile in this build (pi: GPIO and serial drivers come later)',
    '  --data DIR      data directory (default ./data)',
    '  --reader-id ID  sets and stores this reader’s id',
    '  --api-port N    reserved: the host API is not in this build yet (later issue)',
    '',
    'Not in this build yet: the BLE GATT service (mobile credentials) and the host API.',
    'Until then, drive the reader from stdin, one command a line:',
    `  ${PANEL_HELP}`,
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        profile: { type: 'string', default: 'sim' },
        data: { type: 'string', default: './data' },
        'api-port': { type: 'string' },
        'reader-id': { type: 'string' },
      },
    });
    if (values.profile !== 'sim') {
      throw new UsageError(`profile '${values.profile}' is not in this build (have: sim)`);
    }
    const apiPort = values['api-port'];
    if (apiPort !== undefined && !/^[0-9]+$/.test(apiPort))
      throw new UsageError(`--api-port must be a port number`);
    if (apiPort !== undefined && (Number(apiPort) < 1 || Number(apiPort) > 65535)) {
      throw new UsageError(`--api-port must be 1..65535, got ${apiPort}`);
    }

    const log = createLogger();
    const clock = new SystemClock();
    const keypad = new Keypad({ clock });
    const running = boot({
      clock,
      store: { dir: resolve(values.data!) },
      indicatorDrivers: [new ConsoleIndicatorDriver({ logger: log })],
      relay: {
        set: (energized) => log.info({ relay: energized ? 'energized' : 'released' }, 'relay'),
      },
      readerId: values['reader-id'],
      keypad,
      log,
    });
    if (apiPort !== undefined)
      log.warn({ apiPort }, 'host API is not in this build yet; --api-port ignored');
    running.reader.on('raw-data', (raw) =>
      log.info({ rawData: raw }, 'enrolled: raw data captured'),
    );
    const detach = attachPanel(process.stdin, running, keypad, log);

    // Keeps the process up when stdin is closed (Docker) and no reader timer is pending.
    const keepAlive = setInterval(() => {}, 1 << 30);
    return new Promise<number>((done) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        clearInterval(keepAlive);
        detach();
        process.stdin.pause();
        running.shutdown().then(
          () => done(0),
          (err: unknown) => {
            log.error({ err: String(err) }, 'shutdown failed');
            done(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
