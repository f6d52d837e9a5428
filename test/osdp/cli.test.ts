import { SystemClock } from '../../firmware/foundation/clock';
import { listenTcpChannel, PeripheralDevice } from '../../osdp';
import { runCli } from '../run-cli';
import { RecordingDevice } from './device-double';

/**
 * `reader-sim osdp cp` against a PD listening on TCP (OSDP over TCP, as PDConsole benches
 * use it), in-process through the CLI's own entry: argument parsing, output, exit codes.
 */
describe('reader-sim osdp cp over TCP', () => {
  let device: RecordingDevice;
  let close: () => Promise<void>;
  let port: number;

  beforeAll(async () => {
    const channel = await listenTcpChannel(0);
    device = new RecordingDevice();
    const pd = new PeripheralDevice({ address: 2, channel, clock: new SystemClock(), device });
    port = channel.port;
    close = async () => {
      pd.close();
      await channel.close();
    };
  });
  afterAll(() => close());

  async function cp(...args: string[]) {
    const { code, out, err } = await runCli([
      'osdp',
      'cp',
      '--to',
      `tcp:${port}`,
      '--addr',
      '2',
      ...args,
    ]);
    return {
      code,
      lines: out.map((l) => JSON.parse(l) as Record<string, unknown>),
      stderr: err.join('\n'),
    };
  }

  it('id, LED and OUT in clear and through the secure channel, with a packet trace', async () => {
    expect(await cp('id')).toMatchObject({
      code: 0,
      lines: [{ model: 7, serial: 0x12345678, firmware: '1.4.9' }],
    });
    expect((await cp('led', '--color', 'green', '--on', '500', '--off', '500')).code).toBe(0);
    expect(device.leds.at(-1)).toMatchObject({
      permanentControl: 1,
      permanent: { onColor: 2, offColor: 0, onTime: 5, offTime: 5 },
    });
    const secure = await cp('--secure', '--trace', 'out', '--pulse', '3000');
    expect(secure.code).toBe(0);
    expect(device.outs.at(-1)).toEqual({ output: 0, control: 5, timer: 30 });
    const traced = secure.lines.filter((l) => l.trace);
    expect(traced.map((l) => l.name)).toEqual(
      expect.arrayContaining([
        'osdp_CHLNG',
        'osdp_CCRYPT',
        'osdp_SCRYPT',
        'osdp_RMAC_I',
        'osdp_OUT',
        'osdp_ACK',
      ]),
    );
    expect(traced.find((l) => l.name === 'osdp_OUT')).toMatchObject({ scb: '0x17' });
  });

  it('a NAK exits 1 with its reason; bad flags are usage errors that send nothing', async () => {
    const before = device.outs.length;
    const nak = await cp('out', '--output', '7', '--hold', 'on');
    expect(nak.code).toBe(1);
    expect(nak.stderr).toMatch(/NAK 0x09 \(unable to process\)/);
    expect(await cp('led', '--color', 'purple')).toMatchObject({ code: 2 });
    expect(await cp('keyset', '--new-key', '00'.repeat(16))).toMatchObject({ code: 2 });
    expect(await cp('nonsense')).toMatchObject({ code: 2 });
    expect(device.outs).toHaveLength(before);
    expect(device.keys).toEqual([]);
  });
});
