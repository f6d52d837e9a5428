/**
 * One conformance suite, run against both bleno packages on the virtual controller with
 * @stoprocent/noble as the central. The peripheral runs in a child process (plain Node: the
 * only way @abandonware/bleno, a process singleton, can be given our socket) on the air this
 * test process serves over a UNIX socket; the phones run here, in-process.
 */
import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import {
  Air,
  AirServer,
  DEFAULT_PATH_LOSS,
  TimingMode,
  VirtualController,
  hciDriverFor,
  walk,
} from '../../ble/controller';
import {
  BlenoFlavor,
  ECHO_CHAR,
  ECHO_SERVICE,
  INFO_CHAR,
  INFO_TEXT,
  NOTIFY_CHAR,
} from '../../ble/controller/demo/echo-peripheral';
import { meanRssi } from '../../ble/controller/radio-model';
import { Status } from '../../ble/controller/hci-spec';
import { transpiledModule } from '../cli-command';

// noble ships no types; the seam above must be installed before it loads.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports */
const { withBindings } = require('@stoprocent/noble') as {
  withBindings: (type: string, options: object) => any;
};

const ROOT = path.join(__dirname, '..', '..');
const PERIPHERAL_SCRIPT = path.join(ROOT, 'ble', 'controller', 'demo', 'peripheral-process.ts');
const READER_ADDRESS = 'c0:de:0a:00:00:01';

jest.setTimeout(180_000); // real processes: minutes on a loaded machine

interface ChildEvent {
  ev: string;
  [counter: string]: unknown;
  address?: string;
  length?: number;
  hex?: string;
}

/** The peripheral process and the events it printed. */
class PeripheralProcess {
  readonly events: ChildEvent[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ChildEvent);
      } catch {
        return;
      }
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  /** Waits for the `n`-th (1-based) event named `ev`. */
  async waitFor(ev: string, n = 1): Promise<ChildEvent> {
    for (;;) {
      const matching = this.events.filter((e) => e.ev === ev);
      if (matching.length >= n) return matching[n - 1]!;
      if (this.child.exitCode !== null)
        throw new Error(`peripheral exited (${this.child.exitCode}) before '${ev}'`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  count(ev: string): number {
    return this.events.filter((e) => e.ev === ev).length;
  }

  send(command: string): void {
    this.child.stdin.write(`${command}\n`);
  }
}

// @abandonware/bleno keeps one connection (one handle, no advertising while connected).
const stacks: Array<{ stack: BlenoFlavor; multipleCentrals: boolean; timing: TimingMode }> = [
  { stack: 'stoprocent', multipleCentrals: true, timing: 'fast' },
  { stack: 'abandonware', multipleCentrals: false, timing: 'fast' },
  { stack: 'stoprocent', multipleCentrals: true, timing: 'realistic' },
  { stack: 'abandonware', multipleCentrals: false, timing: 'realistic' },
];

describe.each(stacks)(
  'bleno conformance on the virtual controller: @$stack/bleno, $timing timing',
  ({ stack, multipleCentrals, timing }) => {
    let dir: string;
    let air: Air;
    let server: AirServer;
    let peripheral: PeripheralProcess;
    let capturePath: string;
    const phones: Array<{ controller: VirtualController; noble: any }> = [];

    async function phone(meters: number): Promise<{ controller: VirtualController; noble: any }> {
      const controller = new VirtualController(air, { position: meters });
      const noble = withBindings('hci', { hciDriver: hciDriverFor(controller) });
      phones.push({ controller, noble });
      await noble.waitForPoweredOnAsync(5000);
      return { controller, noble };
    }

    async function discover(noble: any): Promise<any> {
      const found = new Promise<any>((resolve) => {
        const onDiscover = (p: any) => {
          if (p.address !== READER_ADDRESS) return;
          noble.removeListener('discover', onDiscover);
          resolve(p);
        };
        noble.on('discover', onDiscover);
      });
      await noble.startScanningAsync([ECHO_SERVICE], false);
      const p = await found;
      await noble.stopScanningAsync();
      return p;
    }

    async function connected(noble: any): Promise<{ p: any; chars: Record<string, any> }> {
      const p = await discover(noble);
      await p.connectAsync();
      const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
        [ECHO_SERVICE],
        [],
      );
      const chars: Record<string, any> = {};
      for (const c of characteristics) chars[c.uuid] = c;
      return { p, chars };
    }

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ble-conformance-${stack}-`));
      air = new Air({ timing });
      server = await AirServer.listen(air, { path: path.join(dir, 'air.sock') });
      capturePath = path.join(dir, 'reader.btsnoop');
      const child = spawn(
        process.execPath,
        [
          // Transpiled once per run (test/cli-command.ts): no ts-node compile per peripheral.
          transpiledModule(PERIPHERAL_SCRIPT),
          '--stack',
          stack,
          '--air',
          path.join(dir, 'air.sock'),
          '--address',
          READER_ADDRESS,
          '--name',
          `conf-${stack}`,
          '--btsnoop',
          capturePath,
        ],
        {
          cwd: ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
          env: process.env,
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      peripheral = new PeripheralProcess(child);
      try {
        await peripheral.waitFor('ready');
      } catch (err) {
        throw new Error(`${(err as Error).message}: ${stderr}`);
      }
    });

    afterAll(async () => {
      for (const { noble, controller } of phones) {
        noble.stop();
        controller.close();
      }
      if (peripheral?.child.exitCode === null) {
        peripheral.send('exit');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          once(peripheral.child, 'exit'),
          new Promise((r) => (timer = setTimeout(r, 2000))),
        ]);
        clearTimeout(timer);
        if (peripheral.child.exitCode === null) peripheral.child.kill();
      }
      await server?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('is seen advertising its name and service UUID with the RSSI of its distance', async () => {
      const { noble } = await phone(2);
      const p = await discover(noble);
      expect(p.advertisement.localName).toBe(`conf-${stack}`);
      expect(p.advertisement.serviceUuids).toContain(ECHO_SERVICE);
      expect(p.rssi).toBe(Math.round(meanRssi(0, 2, DEFAULT_PATH_LOSS))); // -48 dBm at 2 m
      expect(p.connectable).toBe(true);
    });

    it('accepts a connection, exchanges the MTU, serves discovery, read, write, long write and notifications', async () => {
      const { noble } = await phone(2);
      const { p, chars } = await connected(noble);
      await peripheral.waitFor('accept');
      const mtu = p.mtu ?? (await once(p, 'mtu'))[0];
      expect(mtu).toBeGreaterThan(23);
      expect(Object.keys(chars).sort()).toEqual([INFO_CHAR, ECHO_CHAR, NOTIFY_CHAR].sort());

      expect((await chars[INFO_CHAR].readAsync()).toString()).toBe(INFO_TEXT);

      await chars[ECHO_CHAR].writeAsync(Buffer.from('short write'), false);
      expect((await peripheral.waitFor('write', 1)).hex).toBe(
        Buffer.from('short write').toString('hex'),
      );

      const long = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff));
      await chars[ECHO_CHAR].writeAsync(long, false); // > MTU - 3: Prepare Write x n + Execute Write
      const written = await peripheral.waitFor('write', 2);
      expect(written.length).toBe(512);
      expect(written.hex).toBe(long.toString('hex'));
      expect(Buffer.compare(await chars[ECHO_CHAR].readAsync(), long)).toBe(0); // long read back (Read Blob)

      await chars[NOTIFY_CHAR].subscribeAsync();
      const notified = once(chars[NOTIFY_CHAR], 'data');
      await chars[ECHO_CHAR].writeAsync(Buffer.from('ping'), false);
      const [data, isNotification] = await notified;
      expect(data.toString()).toBe('ping');
      expect(isNotification).toBe(true);

      const disconnects = peripheral.count('disconnect');
      await p.disconnectAsync(); // central side ends the link
      await peripheral.waitFor('disconnect', disconnects + 1);

      // Both stacks were answered in full: no unknown or refused command, no dropped or
      // overrunning ACL packet on either controller.
      const clean = {
        unknownCommands: 0,
        invalidCommands: 0,
        aclDropped: 0,
        bufferOverruns: 0,
        framingErrors: 0,
      };
      expect(phones[phones.length - 1]!.controller.stats).toMatchObject(clean);
      peripheral.send('stats');
      expect(await peripheral.waitFor('stats')).toMatchObject(clean);
    });

    it('tells the central when the peripheral side disconnects', async () => {
      const { noble } = await phone(2);
      const { p } = await connected(noble);
      const reason = once(p, 'disconnect');
      peripheral.send('disconnect');
      expect((await reason)[0]).toBe(Status.remoteUserTerminated);
    });

    (multipleCentrals ? it : it.skip)('serves two centrals connected at once', async () => {
      const a = await phone(1);
      const b = await phone(4);
      const first = await connected(a.noble);
      const second = await connected(b.noble);
      const [infoA, infoB] = await Promise.all([
        first.chars[INFO_CHAR].readAsync(),
        second.chars[INFO_CHAR].readAsync(),
      ]);
      expect(infoA.toString()).toBe(INFO_TEXT);
      expect(infoB.toString()).toBe(INFO_TEXT);
      expect(first.p.state).toBe('connected');
      expect(second.p.state).toBe('connected');
      await Promise.all([first.p.disconnectAsync(), second.p.disconnectAsync()]);
    });

    it('drops a central that walks out of range (supervision timeout on both sides)', async () => {
      const { noble, controller } = await phone(2);
      const { p } = await connected(noble);
      const disconnects = peripheral.count('disconnect');
      const reason = once(p, 'disconnect');
      // 2 m to 3 km in 300 ms: beyond ~160 m nothing gets through; noble asked for a 420 ms timeout.
      walk(controller, air.clock, [
        { atMs: 0, meters: 2 },
        { atMs: 300, meters: 3000 },
      ]);
      expect((await reason)[0]).toBe(Status.connectionTimeout);
      await peripheral.waitFor('disconnect', disconnects + 1);
    });

    it('captured the session in a btsnoop file that tshark decodes', () => {
      const text = execFileSync('tshark', ['-r', capturePath], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(text).toMatch(/LE Set Advertising Data/);
      expect(text).toMatch(/LE Connection Complete/);
      expect(text).toMatch(/ATT .*Write Request/);
      expect(text).toMatch(/Handle Value Notification/);
      expect(text).toMatch(/Disconnect Complete/);
      expect(text).not.toMatch(/Malformed/);
    });
  },
);
