import { SILENT_LOG } from '../../firmware/foundation/log';
import { parseOsdpTransport } from '../../firmware/osdp';
import { UsageError } from '../../scripts/command';
import { startOsdp } from '../../scripts/commands/start-osdp';

describe('--osdp and --role', () => {
  it('parses serial and TCP transports with their address', () => {
    expect(parseOsdpTransport('serial:/dev/ttyUSB0')).toEqual({
      kind: 'serial',
      path: '/dev/ttyUSB0',
      baud: 9600,
      address: 0,
    });
    expect(parseOsdpTransport('serial:/dev/ttyAMA3@115200,addr=12')).toMatchObject({
      baud: 115200,
      address: 12,
    });
    expect(parseOsdpTransport('tcp:4000,addr=1')).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 4000,
      address: 1,
    });
    expect(parseOsdpTransport('tcp:0.0.0.0:4001')).toMatchObject({ host: '0.0.0.0', port: 4001 });
  });

  it.each([
    ['serial:/dev/ttyUSB0@1234', /baud 1234/],
    ['serial:/dev/ttyUSB0,addr=127', /addr=N with N 0..126/],
    ['tcp:70000', /port 0..65535/],
    ['udp:4000', /expected serial:PATH/],
    ['tcp:4000,speed=1', /addr=N/],
  ])('refuses %s with a clear message', (text, message) => {
    expect(() => parseOsdpTransport(text)).toThrow(message);
  });

  it('start: contradictions are usage errors, and nothing is opened', async () => {
    await expect(startOsdp({ role: 'panel' }, SILENT_LOG)).rejects.toThrow(UsageError);
    await expect(startOsdp({ role: 'osdp-pd' }, SILENT_LOG)).rejects.toThrow(/needs --osdp/);
    await expect(startOsdp({ role: 'local', osdp: 'tcp:0' }, SILENT_LOG)).rejects.toThrow(
      /contradicts/,
    );
    await expect(startOsdp({ osdp: 'serial:/dev/x@7' }, SILENT_LOG)).rejects.toThrow(UsageError);
    await expect(startOsdp({ osdp: 'serial:/dev/ttyNOPE9' }, SILENT_LOG)).rejects.toThrow(
      /ttyNOPE9/,
    );
    expect(await startOsdp({}, SILENT_LOG)).toBeUndefined();
  });
});
