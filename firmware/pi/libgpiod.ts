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
 * gpiomon watches inputs. Never sysfs. No GPIO npm binding is needed on the Pi.
 */
export interface LibgpiodOptions {
  /** Directory holding the tools; default: found on PATH. Tests point it at a simulated chip. */
  toolsDir?: string;
  /** A holder that survived this long (ms, real time) has taken its line. Default 30. */
  settleMs?: number;
}

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
    const held = new HeldOutput(this, spec, initial, {
      command: toolPath(this.options, 'gpioset'),
      settleMs: this.options.settleMs ?? 30,
    });
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
    // Like gpioset, gpiomon says nothing once it watches: one that quits at once failed.
    const settleMs = this.options.settleMs ?? 30;
    let timer: NodeJS.Timeout | undefined;
    const quit = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), settleMs))),
    ]);
    clearTimeout(timer);
    if (quit) throw new GpioError(`gpiomon ${args.join(' ')} failed: ${stderr.trim()}`);
    this.monitors.add(monitor);
    return monitor;
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
  failure: Error | undefined;

  constructor(
    private readonly chip: LibgpiodChip,
    private readonly spec: LineSpec,
    initial: boolean,
    private readonly tool: { command: string; settleMs: number },
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
    const child = spawn(this.tool.command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ok = await new Promise<boolean>((resolve) => {
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        this.failure =
          err.code === 'ENOENT'
            ? new GpioError(`libgpiod tools not found (gpioset): ${INSTALL_HINT}`)
            : err;
        resolve(false);
      };
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        child.off('error', onError);
        this.failure = new GpioError(
          `gpioset ${args.join(' ')} exited (${code}): ${stderr.trim() || 'no message'}`,
        );
        resolve(false);
      };
      // gpioset says nothing when it has the line: still running after settleMs means it does.
      const timer = setTimeout(() => {
        child.off('error', onError);
        child.off('exit', onExit);
        resolve(true);
      }, this.tool.settleMs);
      child.once('error', onError);
      child.once('exit', onExit);
    });
    if (!ok) {
      // The first level is output()'s to report (it throws); later ones only have the event.
      if (this.started) this.chip.emit('error', this.failure);
      this.started = true;
      return;
    }
    this.started = true;
    this.failure = undefined;
    this.holder = child;
    this.applied = level;
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
