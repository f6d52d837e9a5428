import { BleAdapterError, checkBleAdapter, explainHciError } from '../../firmware/pi';
import { openPty } from './pty';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
const throwing = (err: Error) => () => ({
  bindRaw(): number {
    throw err;
  },
  isDevUp: () => false,
});

describe('the Pi profile BLE adapter check', () => {
  it('on this machine (no Bluetooth sockets in the kernel) the real HCI socket fails with cause and fix', async () => {
    const err = await checkBleAdapter({ adapter: 'hci-socket', hciDevice: 0 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BleAdapterError);
    const message = (err as Error).message;
    expect(message).toMatch(/^BLE: this kernel has no Bluetooth sockets \(EAFNOSUPPORT: /);
    expect(message).toContain(
      'sudo setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node))',
    );
    expect(message).toContain('sudo hciconfig hci0 down');
    expect(message).not.toContain('\n');
  });

  it.each([
    [
      errno('EPERM', 'Operation not permitted'),
      /no permission to open the HCI socket for hci0.*sudo setcap cap_net_raw,cap_net_admin\+eip/,
    ],
    [
      errno('EBUSY', 'Device or resource busy'),
      /hci0 is in use, usually by bluetoothd.*systemctl disable --now bluetooth, or sudo hciconfig hci0 down/,
    ],
    [errno('ENODEV', 'No such device'), /no adapter hci0 .*hciconfig -a/],
    [
      new Error('No native build was found for platform=linux'),
      /HCI socket module cannot load.*npm rebuild/,
    ],
  ])('explains %s', async (err, expected) => {
    await expect(
      checkBleAdapter({ adapter: 'hci-socket', hciDevice: 0 }, { hciSocket: throwing(err) }),
    ).rejects.toThrow(expected);
    expect(explainHciError(err, 0)).not.toContain('\n');
  });

  it('a working adapter is reported with its state; none is a choice, never a fallback', async () => {
    const socket = { bindRaw: jest.fn(() => 1), isDevUp: () => true };
    await expect(
      checkBleAdapter({ adapter: 'hci-socket', hciDevice: 1 }, { hciSocket: () => socket }),
    ).resolves.toEqual({ adapter: 'hci-socket', hciDevice: 1, up: true });
    expect(socket.bindRaw).toHaveBeenCalledWith(1);
    await expect(checkBleAdapter({ adapter: 'none' })).resolves.toEqual({ adapter: 'none' });
  });

  it('an HCI UART controller that cannot be opened is named', async () => {
    await expect(
      checkBleAdapter({ adapter: 'hci-uart', path: '/dev/ttyNOPE7', baudRate: 1_000_000 }),
    ).rejects.toThrow(
      /^BLE: the HCI UART controller at \/dev\/ttyNOPE7 cannot be opened .*dialout/,
    );
  });

  it('an HCI UART controller on a serial port that opens passes (a real pty stands in)', async () => {
    const pty = await openPty();
    try {
      await expect(
        checkBleAdapter({ adapter: 'hci-uart', path: pty.path, baudRate: 115_200 }),
      ).resolves.toEqual({ adapter: 'hci-uart', path: pty.path, baudRate: 115_200 });
    } finally {
      await pty.close();
    }
  });
});
