import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  checkOffset,
  GpioError,
  type ChipInfo,
  type GpioChip,
  type GpioEdge,
  type GpioMonitor,
  type GpioOutput,
  type LineSpec,
} from './gpio';

/**
 * GPIO through the libgpiod 1.6 command-line tools (Debian bookworm's `gpiod` package):
 * gpiodetect finds the chip by label, gpioset --mode=signal holds each output, gpioget reads,
 * gpiomon watches inputs, gpioinfo tells when a holder or a monitor has taken its lines.
 * Never sysfs. No GPIO npm binding is needed on the Pi.
 */
export interface LibgpiodOptions {
  /** Directory holding the tools; default: found on PATH. Tests point it at a simulated chip. */
  toolsDir?: string;
  /**
   * Longest wait (ms, real time) for gpioset or gpiomon to take its lines (gpioinfo lists
   * them as used) before the call fails. Generous: a loaded machine starts tools slowly.
   */
  settleMs?: number;
}

const DEFAULT_SETTLE_MS = 10_000;
/**
 * Between two gpioinfo looks while a tool starts: the first soon, then backing off, so a
 * slow start costs a few looks (each is a process) rather than one every few milliseconds.
 */
const TAKE_POLL_FIRST_MS = 5;
const TAKE_POLL_MAX_MS = 40;

const INSTALL_HINT = 'install them with `sudo apt install gpiod` (scripts/pi-setup.sh does)';

function toolPath(options: LibgpiodOptions, tool: string): string {
  return options.toolsDir ? join(options.toolsDir, tool) : tool;
}

function runTool(options: LibgpiodOptions, tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(toolPath(options, tool), args, { timeout: 5000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return reject(new GpioError(`libgpiod tools not found (${tool}): ${INSTALL_HINT}`));
      }
      const detail = String(stderr).trim().split('\n')[0] || error.message;
      reject(new GpioError(`${tool} ${args.join(' ')} failed: ${detail}`));
    });
  });
}

/** Parses gpiodetect 1.6 output: `gpiochip0 [pinctrl-bcm2711] (58 lines)` per chip. */
export function parseGpiodetect(stdout: string): ChipInfo[] {
  const chips: ChipInfo[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+\[(.*)\]\s+\((\d+) lines?\)\s*$/.exec(line.trim());
    if (m) chips.push({ name: m[1], label: m[2], lines: Number(m[3]) });
  }
  return chips;
}

/**
 * Parses gpioinfo 1.6 output into the consumer of each used line (offset -> consumer;
 * "kernel" when the kernel holds it without a name). Unused lines are left out.
 */
export function parseGpioinfo(stdout: string): Map<number, string> {
  const used = new Map<number, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*line\s+(\d+):\s+(?:"[^"]*"|unnamed)\s+(?:"([^"]*)"|(unused|kernel))\s/.exec(
      line,
    );
    if (m && m[3] !== 'unused') used.set(Number(m[1]), m[2] ?? 'kernel');
  }
  return used;
}

/** Lists the chips and picks the first whose label is one of `labels` (in the order given). */
export async function findChipByLabel(
  labels: readonly string[],
  options: LibgpiodOptions = {},
): Promise<ChipInfo> {
  const chips = parseGpiodetect(await runTool(options, 'gpiodetect', []));
  for (const label of labels) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip;
  }
  const found = chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none';
  throw new GpioError(
    `no GPIO chip labelled ${labels.join(' or ')} (found: ${found}); set chipLabel in pi.json`,
  );
}

function biasArgs(spec: LineSpec): string[] {
  return spec.bias && spec.bias !== 'as-is' ? [`--bias=${spec.bias}`] : [];
}

export class LibgpiodChip extends EventEmitter implements GpioChip {
  private readonly outputs = new Set<HeldOutput>();
  private readonly monitors = new Set<GpioMonitor>();

  private constructor(
    readonly info: ChipInfo,
    private readonly options: LibgpiodOptions,
  ) {
    super();
  }

  /** Finds the chip by label (gpiodetect) and opens it. */
  static async open(
    labels: readonly string[],
    options: LibgpiodOptions = {},
  ): Promise<LibgpiodChip> {
    return new LibgpiodChip(await findChipByLabel(labels, options), options);
  }

  get name(): string {
    return this.info.name;
  }
  get label(): string {
    return this.info.label;
  }
  get lines(): number {
    return this.info.lines;
  }

  async output(spec: LineSpec, initial: boolean): Promise<GpioOutput> {
    checkOffset(this.info, spec.offset);
    const held = new HeldOutput(this, spec, initial, toolPath(this.options, 'gpioset'));
    this.outputs.add(held);
    held.once('released', () => this.outputs.delete(held));
    await held.settled();
    if (held.failure) {
      this.outputs.delete(held);
      throw held.failure;
    }
    return held;
  }

  async read(specs: LineSpec[]): Promise<boolean[]> {
    for (const spec of specs) checkOffset(this.info, spec.offset);
    // One gpioget per bias (the flag applies to every line of a call); lines sharing one are
    // read together, so two LEDs are sampled at the same instant.
    const out = new Array<boolean>(specs.length);
    const groups = new Map<string, number[]>();
    specs.forEach((spec, i) => {
      const key = biasArgs(spec).join();
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const indexes of groups.values()) {
      const stdout = await runTool(this.options, 'gpioget', [
        ...biasArgs(specs[indexes[0]]),
        this.name,
        ...indexes.map((i) => String(specs[i].offset)),
      ]);
      const values = stdout.trim().split(/\s+/);
      if (values.length !== indexes.length || values.some((v) => v !== '0' && v !== '1')) {
        throw new GpioError(`gpioget ${this.name}: unexpected output '${stdout.trim()}'`);
      }
      indexes.forEach((specIndex, k) => (out[specIndex] = values[k] === '1'));
    }
    return out;
  }

  async monitor(specs: LineSpec[], onEdge: (edge: GpioEdge) => void): Promise<GpioMonitor> {
    for (const spec of specs) checkOffset(this.info, spec.offset);
    if (specs.length === 0) return { close: async () => {} };
    const bias = biasArgs(specs[0]);
    if (specs.some((s) => biasArgs(s).join() !== bias.join())) {
      throw new GpioError('lines monitored together must share one bias');
    }
    // %o offset, %e event type: 1 rising, 0 falling. Line-buffered: one edge per line, now.
    const args = [
      ...bias,
      '--line-buffered',
      '--format=%o %e',
      this.name,
      ...specs.map((s) => String(s.offset)),
    ];
    const child = spawn(toolPath(this.options, 'gpiomon'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let closing = false;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^(\d+) ([01])$/.exec(line.trim());
      if (!m) return void this.emit('error', new GpioError(`gpiomon: unexpected output '${line}'`));
      onEdge({ offset: Number(m[1]), high: m[2] === '1' });
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const monitor: GpioMonitor = {
      close: async () => {
        closing = true;
        child.kill('SIGTERM');
        await exited;
      },
    };
    child.once('close', (code) => {
      // Not in the set: it never started, and the caller got the rejection.
      if (!this.monitors.delete(monitor) || closing) return;
      this.emit(
        'error',
        new GpioError(`gpiomon ${args.join(' ')} exited (${code}): ${stderr.trim()}`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new GpioError(`libgpiod tools not found (gpiomon): ${INSTALL_HINT}`)
            : err,
        ),
      );
    });
    // Like gpioset, gpiomon says nothing once it watches: gpioinfo shows when it does.
    const taken = await this.linesTaken(
      specs.map((s) => s.offset),
      'gpiomon',
      exited,
    ).catch(async (err: Error) => {
      await monitor.close();
      throw err;
    });
    if (taken !== 'taken') {
      if (taken === 'timeout') await monitor.close();
      throw new GpioError(
        `gpiomon ${args.join(' ')} failed: ${stderr.trim() || 'it did not take its lines in time'}`,
      );
    }
    this.monitors.add(monitor);
    return monitor;
  }

  /** Lines in use now, by consumer (gpioinfo). */
  async consumers(): Promise<Map<number, string>> {
    return parseGpioinfo(await runTool(this.options, 'gpioinfo', [this.name]));
  }

  /**
   * Waits until gpioinfo lists every offset as used by `consumer` while the tool still runs:
   * 'exited' if it quit first (it failed), 'timeout' after the settle deadline.
   */
  async linesTaken(
    offsets: number[],
    consumer: string,
    exited: Promise<unknown>,
  ): Promise<'taken' | 'exited' | 'timeout'> {
    let quit = false;
    void exited.then(() => (quit = true));
    const deadline = Date.now() + (this.options.settleMs ?? DEFAULT_SETTLE_MS);
    for (let pause = TAKE_POLL_FIRST_MS; ; pause = Math.min(pause * 2, TAKE_POLL_MAX_MS)) {
      const used = await this.consumers();
      // Checked after the look: a tool that quit may have held its lines a moment before.
      if (quit) return 'exited';
      if (offsets.every((o) => used.get(o) === consumer)) return 'taken';
      if (Date.now() > deadline) return 'timeout';
      await new Promise<void>((resolve) => setTimeout(resolve, pause));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.outputs].map((o) => o.release()));
    await Promise.all([...this.monitors].map((m) => m.close()));
  }
}

/**
 * One output held by a `gpioset --mode=signal` process. A new level means: stop the holder
 * (SIGTERM), wait for it to exit (the line is busy until then), start one with the new level.
 * Writes that pile up while that happens collapse to the latest level.
 */
class HeldOutput extends EventEmitter implements GpioOutput {
  private wanted: boolean;
  private applied: boolean | undefined;
  private holder: ChildProcess | undefined;
  private work: Promise<void> = Promise.resolve();
  private released = false;
  private started = false;
  /** One of our holders had the line: later levels need no look for another holder. */
  private wasHeld = false;
  failure: Error | undefined;

  constructor(
    private readonly chip: LibgpiodChip,
    private readonly spec: LineSpec,
    initial: boolean,
    private readonly command: string,
  ) {
    super();
    this.wanted = initial;
    this.schedule();
  }

  get offset(): number {
    return this.spec.offset;
  }
  get level(): boolean {
    return this.wanted;
  }

  set(on: boolean): void {
    if (this.released) throw new GpioError(`${this.chip.name} line ${this.offset} was released`);
    this.wanted = on;
    this.schedule();
  }

  settled(): Promise<void> {
    return this.work;
  }

  async release(): Promise<void> {
    this.released = true;
    await this.work;
    await this.stopHolder();
    this.emit('released');
  }

  private schedule(): void {
    this.work = this.work.then(() => this.apply());
  }

  private async apply(): Promise<void> {
    if (this.released || this.applied === this.wanted) return;
    const level = this.wanted;
    await this.stopHolder();
    const value = level ? 1 : 0;
    const args = [
      '--mode=signal',
      ...(this.spec.activeLow ? ['--active-low'] : []),
      this.chip.name,
      `${this.offset}=${value}`,
    ];
    // Another process holding the line would make gpioset fail, but only after gpioinfo
    // already shows it used: ask first, so that holder is never taken for ours. Once the line
    // was ours, each new level follows our own holder's exit and needs no second look.
    try {
      const holder = this.wasHeld ? undefined : (await this.chip.consumers()).get(this.offset);
      this.failure =
        holder === undefined
          ? await this.startHolder(args)
          : new GpioError(
              `gpioset ${args.join(' ')} failed: line ${this.offset} is in use by "${holder}" (Device or resource busy)`,
            );
    } catch (err) {
      this.failure = err as Error;
    }
    const ok = this.failure === undefined;
    if (!ok) {
      // The first level is output()'s to report (it throws); later ones only have the event.
      if (this.started) this.chip.emit('error', this.failure);
      this.started = true;
      return;
    }
    this.started = true;
    this.applied = level;
  }

  /** Starts a gpioset and waits until it holds the line; resolves to why it did not. */
  private async startHolder(args: string[]): Promise<Error | undefined> {
    const child = spawn(this.command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | string | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal)),
    );
    const started = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err: NodeJS.ErrnoException) =>
        resolve(
          err.code === 'ENOENT'
            ? new GpioError(`libgpiod tools not found (gpioset): ${INSTALL_HINT}`)
            : err,
        ),
      );
    });
    if (started) return started;
    // gpioset says nothing when it has the line: gpioinfo shows it.
    const taken = await this.chip
      .linesTaken([this.offset], 'gpioset', exited)
      .catch((err: Error) => err);
    if (taken instanceof Error || taken === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      return taken instanceof Error
        ? taken
        : new GpioError(`gpioset ${args.join(' ')} did not take the line in time`);
    }
    if (taken === 'exited') {
      const code = await exited;
      return new GpioError(
        `gpioset ${args.join(' ')} exited (${code}): ${stderr.trim() || 'no message'}`,
      );
    }
    this.holder = child;
    this.wasHeld = true;
    child.on('error', (err) => this.chip.emit('error', err));
    child.once('exit', (code, signal) => {
      if (this.holder !== child) return;
      this.holder = undefined;
      this.applied = undefined;
      this.chip.emit(
        'error',
        new GpioError(
          `gpioset holding ${this.chip.name} line ${this.offset} exited (${code ?? signal}): ${stderr.trim()}`,
        ),
      );
    });
    return undefined;
  }

  private async stopHolder(): Promise<void> {
    const child = this.holder;
    if (!child) return;
    this.holder = undefined;
    this.applied = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}
