import os from 'node:os';
import { SystemClock } from '../../../firmware/foundation/clock';
import { OsdpPanelLink } from '../../../firmware/osdp';
import { powerOnBoard } from '../../../firmware/profiles/drivers';
import { testDrivers } from '../../../firmware/profiles/test';
import {
  COMMAND,
  ControlPanel,
  encodeLed,
  openSerialChannel,
  type Channel,
  type LedRecord,
} from '../../../osdp';
import { openNullModem } from '../null-modem';
import { above, below, percentile, rowsFor, type BenchRow, type BenchSuite } from './suite';

const row = rowsFor('osdp');
const BAUD = 115200;
/** The PD's own budget is 200 ms; a simulator that wants to sit under a panel's timing uses far less. */
const REPLY_P99_MS = 5;
/** What a panel polling one PD flat out at 115200 needs; a real wire caps it near 400/s. */
const SECURE_POLLS_PER_S = 200;

const LED: LedRecord = {
  reader: 0,
  led: 0,
  temporaryControl: 2,
  temporary: { onTime: 2, offTime: 2, onColor: 2, offColor: 0, timer: 10 },
  permanentControl: 1,
  permanent: { onTime: 1, offTime: 0, onColor: 1, offColor: 0 },
};

/** Wire time of `bytes` at the bench's baud rate, 8N1 (a pty does not pace; a UART does). */
function wireMs(bytes: number): number {
  return ((bytes * 10) / BAUD) * 1000;
}

export const osdp: BenchSuite = {
  name: 'osdp',
  summary: `the reader as an OSDP PD over a pty at ${BAUD} baud: POLL/LED reply p50/p99, secure polls/s`,
  async run({ quick, progress }): Promise<BenchRow[]> {
    const samples = quick ? 100 : 2000;
    const sustainMs = quick ? 500 : 5000;
    const modem = await openNullModem();
    const clock = new SystemClock();
    const drivers = testDrivers({ clock, flash: { sectorCount: 64 } });
    const board = await powerOnBoard(drivers);
    const reader = board.reader()!;
    reader.config.update({ role: 'osdp-pd' });
    const pdChannel = await openSerialChannel(modem.paths[0], BAUD);
    // The PD's own share: from the bytes reaching it to its reply leaving, on its side of the pty.
    const inside: number[] = [];
    let arrived = 0n;
    const timedChannel: Channel = {
      onData: (listener) =>
        pdChannel.onData((bytes) => {
          arrived = process.hrtime.bigint();
          listener(bytes);
        }),
      write: (bytes) => {
        inside.push(Number(process.hrtime.bigint() - arrived) / 1e6);
        pdChannel.write(bytes);
      },
      close: () => pdChannel.close(),
    };
    const link = new OsdpPanelLink({
      transport: { channel: timedChannel, description: `serial:${modem.paths[0]}@${BAUD}` },
      address: 1,
    });
    const detach = link.attach(reader);
    const cpChannel = await openSerialChannel(modem.paths[1], BAUD);
    const cp = new ControlPanel({ channel: cpChannel, clock, address: 1, replyTimeoutMs: 1000 });
    try {
      const timed = async (send: () => Promise<unknown>, n: number) => {
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
          const t0 = process.hrtime.bigint();
          await send();
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        return times;
      };
      progress(`osdp: ${samples} POLLs in clear`);
      await cp.poll();
      for (let i = 0; i < 5; i++) await cp.poll(); // the first polls carry the statuses
      inside.length = 0;
      const poll = await timed(() => cp.poll(), samples);
      const pollInside = inside.splice(0);
      progress(`osdp: ${samples} LED commands in clear`);
      const led = await timed(() => cp.led([LED]), samples);
      await cp.startSecureChannel();
      progress(`osdp: ${samples} LED commands in the secure channel`);
      inside.length = 0;
      const ledSecure = await timed(() => cp.send(COMMAND.LED, encodeLed([LED])), samples);
      const ledSecureInside = inside.splice(0);
      progress(`osdp: secure POLLs for ${sustainMs} ms`);
      let polls = 0;
      const started = performance.now();
      while (performance.now() - started < sustainMs) {
        await cp.poll();
        polls++;
      }
      const perSecond = polls / ((performance.now() - started) / 1000);
      const load = os.loadavg()[0].toFixed(1);
      const note = `round trip CP->pty->PD->pty->CP, ${samples} samples; a pty adds no wire time; load ${load} on ${os.cpus().length} cores`;
      const wire = (cmd: number, reply: number) =>
        `; at ${BAUD} baud the wire adds ${wireMs(cmd + reply).toFixed(2)} ms`;
      return [
        row('POLL reply p50', percentile(poll, 50), 'ms', { note }),
        row('POLL reply p99', percentile(poll, 99), 'ms', {
          bounds: [below(REPLY_P99_MS)],
          note: `spec allows 200 ms${wire(8, 8)}`,
        }),
        row('LED reply p50', percentile(led, 50), 'ms', { note }),
        row('LED reply p99', percentile(led, 99), 'ms', {
          bounds: [below(REPLY_P99_MS)],
          note: `spec allows 200 ms${wire(22, 8)}`,
        }),
        row('LED reply p99, secure channel', percentile(ledSecure, 99), 'ms', {
          bounds: [below(REPLY_P99_MS)],
          note: `MAC + AES per packet${wire(44, 14)}`,
        }),
        row('PD reply time p99, POLL', percentile(pollInside, 99), 'ms', {
          bounds: [below(REPLY_P99_MS)],
          note: 'bytes in to reply out, inside the PD (its share of the round trip)',
        }),
        row('PD reply time p99, secure LED', percentile(ledSecureInside, 99), 'ms', {
          bounds: [below(REPLY_P99_MS)],
          note: 'MAC check, decrypt, LED engine, encrypt, MAC',
        }),
        row('POLLs/s sustained, secure channel', perSecond, 'polls/s', {
          bounds: [above(SECURE_POLLS_PER_S)],
          note: `${polls} polls in ${sustainMs} ms; a real 115200 wire caps near ${Math.floor(1000 / wireMs(28))}/s`,
        }),
      ];
    } finally {
      cp.close();
      detach();
      await cpChannel.close();
      await pdChannel.close();
      await board.shutdown();
      await modem.close();
    }
  },
};
