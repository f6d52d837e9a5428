import { parseArgs } from 'node:util';
import { SystemClock } from '../../firmware/foundation/clock';
import {
  cardFromReply,
  connectTcpChannel,
  ControlPanel,
  keypadFromReply,
  NAK,
  nakText,
  openSerialChannel,
  OSDP_COLORS,
  REPLY,
  replyName,
  SERIAL_BAUDS,
  type Channel,
  type CpReply,
  type LedRecord,
} from '../../osdp';
import { Command, UsageError } from '../command';

const ACTIONS = [
  'poll',
  'id',
  'cap',
  'lstat',
  'istat',
  'ostat',
  'led',
  'buz',
  'out',
  'keyset',
  'trace',
];

export const osdp: Command = {
  usage: [
    'Usage: reader-sim osdp cp --to WHERE [--addr N] [--key HEX] [--secure] [--checksum] [--trace]',
    '                          ACTION [options]',
    '',
    'An OSDP control panel for one PD (a reader started with --osdp, or any OSDP reader):',
    'one JSON line per reply on stdout; a NAK or no reply exits 1 with the reason.',
    '',
    '  --to WHERE      serial:PATH[@BAUD] (default 9600) or tcp:[HOST:]PORT',
    '  --addr N        the PD address (default 0; 127 = whichever PD is on the line)',
    '  --secure        open the Secure Channel first (install mode: the default key SCBK-D)',
    '  --key HEX       ... with this 32-hex-digit base key instead (implies --secure)',
    '  --checksum      8-bit checksum instead of CRC-16',
    '  --trace         print every packet, both ways, as hex',
    '',
    'Actions:',
    '  poll [--count N] [--interval MS]   POLL N times (default 1); cards, keys, statuses',
    '  trace [--interval MS]              POLL until interrupted, tracing every packet',
    '  id | cap | lstat | istat | ostat   the PD id, capabilities, tamper/power, inputs, outputs',
    '  led --color C [--off-color C] [--on MS --off MS] [--temp MS]',
    `                                     C: ${OSDP_COLORS.join(' ')}; --temp: a temporary state`,
    '  buz [--on MS] [--off MS] [--count N] | buz --stop',
    '  out [--output N] (--pulse MS | --hold on|off)   output 0: the lock relay (on = unlocked)',
    '  keyset --new-key HEX               set the PD base key (needs --secure or --key)',
  ].join('\n'),
  async run(argv) {
    const [role, ...rest] = argv;
    if (role !== 'cp') throw new UsageError('reader-sim osdp: only `cp` (a control panel) is here');
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        to: { type: 'string' },
        addr: { type: 'string', default: '0' },
        key: { type: 'string' },
        secure: { type: 'boolean', default: false },
        checksum: { type: 'boolean', default: false },
        trace: { type: 'boolean', default: false },
        count: { type: 'string', default: '1' },
        interval: { type: 'string', default: '200' },
        color: { type: 'string' },
        'off-color': { type: 'string', default: 'black' },
        on: { type: 'string' },
        off: { type: 'string' },
        temp: { type: 'string' },
        stop: { type: 'boolean', default: false },
        output: { type: 'string', default: '0' },
        pulse: { type: 'string' },
        hold: { type: 'string' },
        'new-key': { type: 'string' },
      },
    });
    const action = positionals[0];
    if (!action || !ACTIONS.includes(action))
      throw new UsageError(`an action is needed: ${ACTIONS.join(', ')}`);
    if (values.to === undefined)
      throw new UsageError('--to is needed: serial:PATH[@BAUD] or tcp:[HOST:]PORT');
    const address = int('--addr', values.addr!, 0, 127);
    const key = values.key === undefined ? undefined : hexKey('--key', values.key);
    const channel = await openChannel(values.to);
    const cp = new ControlPanel({
      channel,
      clock: new SystemClock(),
      address,
      crc: !values.checksum,
    });
    if (values.trace || action === 'trace') {
      cp.on('trace', (t) =>
        console.log(
          JSON.stringify({
            trace: t.direction,
            name: t.name,
            sqn: t.sqn,
            ...(t.scb ? { scb: `0x${t.scb.toString(16)}` } : {}),
            bytes: t.bytes.toString('hex'),
          }),
        ),
      );
    }
    const print = (o: unknown) => console.log(JSON.stringify(o));
    try {
      if (values.secure || key) {
        await cp.poll();
        await cp.startSecureChannel(key);
        print({ secure: true, key: key ? 'scbk' : 'scbk-d' });
      }
      switch (action) {
        case 'poll':
        case 'trace': {
          const count = action === 'trace' ? Infinity : int('--count', values.count!, 1, 1_000_000);
          const interval = int('--interval', values.interval!, 0, 60_000);
          let stopped = false;
          process.once('SIGINT', () => (stopped = true));
          for (let i = 0; i < count && !stopped; i++) {
            if (i > 0) await new Promise((r) => setTimeout(r, interval));
            print(describeReply(await cp.poll()));
          }
          return 0;
        }
        case 'id': {
          const id = await cp.id();
          print({
            vendor: id.vendor.toString('hex'),
            model: id.model,
            version: id.version,
            serial: id.serial,
            firmware: id.firmware.join('.'),
          });
          return 0;
        }
        case 'cap':
          print({ capabilities: await cp.capabilities() });
          return 0;
        case 'lstat':
          print(await cp.localStatus());
          return 0;
        case 'istat':
          print({ inputs: await cp.inputStatus() });
          return 0;
        case 'ostat':
          print({ outputs: await cp.outputStatus() });
          return 0;
        case 'led':
          await cp.led([ledRecord(values)]);
          print({ ack: 'led' });
          return 0;
        case 'buz':
          await cp.buzzer(
            values.stop
              ? { reader: 0, tone: 1, onTime: 0, offTime: 0, count: 0 }
              : {
                  reader: 0,
                  tone: 2,
                  onTime: ticks('--on', values.on ?? '200'),
                  offTime: ticks('--off', values.off ?? '200'),
                  count: int('--count', values.count!, 0, 255),
                },
          );
          print({ ack: 'buz' });
          return 0;
        case 'out': {
          const output = int('--output', values.output!, 0, 255);
          if ((values.pulse === undefined) === (values.hold === undefined))
            throw new UsageError('out needs one of --pulse MS or --hold on|off');
          if (values.hold !== undefined && values.hold !== 'on' && values.hold !== 'off')
            throw new UsageError('--hold must be on or off');
          const record =
            values.pulse !== undefined
              ? { output, control: 5, timer: ticks('--pulse', values.pulse, 0xffff) }
              : { output, control: values.hold === 'on' ? 2 : 1, timer: 0 };
          await cp.output([record]);
          print({ ack: 'out' });
          return 0;
        }
        case 'keyset': {
          if (values['new-key'] === undefined) throw new UsageError('keyset needs --new-key HEX');
          if (!cp.secure)
            throw new UsageError(
              'keyset goes only through the Secure Channel: add --secure or --key',
            );
          await cp.keyset(hexKey('--new-key', values['new-key']));
          print({ ack: 'keyset' });
          return 0;
        }
      }
      return 2;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      console.error(`osdp cp: ${(err as Error).message}`);
      return 1;
    } finally {
      cp.close();
      await channel.close();
    }
  },
};

function describeReply(reply: CpReply): Record<string, unknown> {
  const card = cardFromReply(reply);
  if (card)
    return {
      reply: 'osdp_RAW',
      format: card.format,
      bits: card.bitCount,
      data: card.data.toString('hex'),
      text: printable(card.data),
    };
  const keys = keypadFromReply(reply);
  if (keys)
    return { reply: 'osdp_KEYPAD', digits: keys.digits.replace(/\r/g, '#').replace(/\x7f/g, '*') };
  if (reply.code === REPLY.NAK)
    return {
      reply: 'osdp_NAK',
      reason: reply.data[0],
      text: nakText(reply.data[0] ?? NAK.UNKNOWN_COMMAND),
    };
  return {
    reply: replyName(reply.code),
    ...(reply.data.length ? { data: reply.data.toString('hex') } : {}),
    secure: reply.secure,
  };
}

function printable(data: Buffer): string | undefined {
  return data.every((b) => b >= 0x20 && b < 0x7f) ? data.toString('latin1') : undefined;
}

async function openChannel(to: string): Promise<Channel> {
  const serial = /^serial:([^@]+)(?:@(\d+))?$/.exec(to);
  if (serial) {
    const baud = serial[2] === undefined ? 9600 : Number(serial[2]);
    if (!(SERIAL_BAUDS as readonly number[]).includes(baud))
      throw new UsageError(`baud ${baud}: expected one of ${SERIAL_BAUDS.join(', ')}`);
    return openSerialChannel(serial[1], baud);
  }
  const tcp = /^tcp:(?:([A-Za-z0-9.:-]+):)?(\d{1,5})$/.exec(to);
  if (tcp) return connectTcpChannel(Number(tcp[2]), tcp[1] ?? '127.0.0.1');
  throw new UsageError(`--to ${to}: expected serial:PATH[@BAUD] or tcp:[HOST:]PORT`);
}

function int(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${flag} must be an integer ${min}..${max}, got ${text}`);
  return Number(text);
}

/** Milliseconds to OSDP's 100 ms units. */
function ticks(flag: string, ms: string, max = 255): number {
  return Math.round(int(flag, ms, 0, max * 100) / 100);
}

function hexKey(flag: string, text: string): Buffer {
  if (!/^[0-9a-fA-F]{32}$/.test(text))
    throw new UsageError(`${flag} must be 32 hex digits (AES-128)`);
  return Buffer.from(text, 'hex');
}

function color(flag: string, name: string): number {
  const i = (OSDP_COLORS as readonly string[]).indexOf(name === 'off' ? 'black' : name);
  if (i < 0) throw new UsageError(`${flag} must be one of ${OSDP_COLORS.join(', ')}`);
  return i;
}

function ledRecord(values: {
  color?: string;
  'off-color'?: string;
  on?: string;
  off?: string;
  temp?: string;
}): LedRecord {
  if (values.color === undefined) throw new UsageError('led needs --color');
  const phase = {
    onColor: color('--color', values.color),
    offColor: color('--off-color', values['off-color'] ?? 'black'),
    onTime: ticks('--on', values.on ?? '100'),
    offTime: ticks('--off', values.off ?? '0'),
  };
  const none = { onTime: 0, offTime: 0, onColor: 0, offColor: 0 };
  return values.temp === undefined
    ? {
        reader: 0,
        led: 0,
        temporaryControl: 0,
        temporary: { ...none, timer: 0 },
        permanentControl: 1,
        permanent: phase,
      }
    : {
        reader: 0,
        led: 0,
        temporaryControl: 2,
        temporary: { ...phase, timer: ticks('--temp', values.temp, 0xffff) },
        permanentControl: 0,
        permanent: none,
      };
}
