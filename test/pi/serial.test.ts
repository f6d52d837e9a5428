import { SystemClock } from '../../firmware/foundation/clock';
import { BadgeSerialInput, type BadgeRead, type BadFrameReport } from '../../firmware/inputs';
import { openPty, type PtyPair } from './pty';
import { until } from '../poll';

describe('serial badge reader on a real pty (the Pi path: /dev/ttyS0, /dev/ttyUSB0)', () => {
  let pty: PtyPair;
  beforeEach(async () => {
    pty = await openPty();
  });
  afterEach(() => pty.close());

  it('reads ISONAS ASCII badges through the real serialport binding, bad frames counted', async () => {
    const input = new BadgeSerialInput({
      path: pty.path,
      format: 'isonas-ascii',
      clock: new SystemClock(),
    });
    const reads: BadgeRead[] = [];
    const bad: BadFrameReport[] = [];
    input.on('badge', (r: BadgeRead) => reads.push(r));
    input.on('bad-frame', (b: BadFrameReport) => bad.push(b));
    await input.open();
    expect(input.isOpen).toBe(true);
    pty.write('000042\r\n');
    pty.write('12x4\r\n');
    pty.write('10001\r');
    await until(() => reads.length === 2 && bad.length === 1);
    expect(reads.map((r) => r.value)).toEqual(['000042', '10001']);
    expect(bad[0].reason).toBe('non-digit');
    await input.close();
  });

  it('reads RDM6300 frames split across writes', async () => {
    const input = new BadgeSerialInput({ path: pty.path, format: 'rdm6300' });
    const reads: BadgeRead[] = [];
    input.on('badge', (r: BadgeRead) => reads.push(r));
    await input.open();
    // 0x02, 10 hex, checksum (XOR of the 5 bytes), 0x03.
    const data = '0A0076E2F1';
    const bytes = Buffer.from(data, 'hex');
    const sum = bytes
      .reduce((a, b) => a ^ b, 0)
      .toString(16)
      .toUpperCase()
      .padStart(2, '0');
    const frame = Buffer.concat([Buffer.from([2]), Buffer.from(data + sum), Buffer.from([3])]);
    pty.write(frame.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 30));
    pty.write(frame.subarray(5));
    await until(() => reads.length === 1);
    expect(reads[0].value).toBe(`hex:${data}`);
    await input.close();
  });

  it('a path that does not exist is a clear open error', async () => {
    const input = new BadgeSerialInput({ path: '/dev/ttyNOPE9', format: 'isonas-ascii' });
    await expect(input.open()).rejects.toThrow(/No such file or directory.*\/dev\/ttyNOPE9/);
  });
});
