import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';
import { freePort } from '../../../firmware/profiles/free-port';
import { ReaderLauncher, ROOT } from './reader-build';

/** A `reader-sim start` child the soak talks to over HTTP and the virtual air, then kills. */
export class ReaderProcess {
  /** The last log lines (for a report when something goes wrong). */
  readonly tail: string[] = [];
  /** Log lines at error level or above (pino level >= 50): commits that failed, crashes. */
  readonly errors: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readyLine: Promise<string>;

  private constructor(
    readonly child: ChildProcess,
    readonly apiPort: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let onReady: (url: string) => void = () => {};
    let onFail: (err: Error) => void = () => {};
    this.readyLine = new Promise<string>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    // Boots that end early (a kill during boot) must not leave an unhandled rejection behind.
    this.readyLine.catch(() => undefined);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      this.keep(line);
      if (!line.startsWith('{')) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; level?: number };
        if (typeof entry.level === 'number' && entry.level >= 50) this.errors.push(line);
        if (entry.msg?.startsWith('ready:') && entry.url) onReady(entry.url);
      } catch {
        // not one of the reader's JSON log lines
      }
    });
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      this.keep(`stderr: ${line}`);
      this.errors.push(`stderr: ${line}`);
    });
    void this.exited.then(({ code, signal }) =>
      onFail(new Error(`reader exited (${signal ?? code}) before it was ready`)),
    );
  }

  /** Starts `reader-sim start --data DIR --api-port (free) --air SOCKET --ble-timing fast`. */
  static async start(
    launcher: ReaderLauncher,
    options: { dataDir: string; airSocket: string },
  ): Promise<ReaderProcess> {
    const apiPort = await freePort();
    const args = [
      ...launcher.args,
      'start',
      '--data',
      options.dataDir,
      '--api-port',
      String(apiPort),
      '--air',
      options.airSocket,
    ];
    const child = spawn(launcher.command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    return new ReaderProcess(child, apiPort);
  }

  /** Resolves with the API URL once the reader logged its `ready:` line. */
  ready(timeoutMs = 30_000): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reader not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([this.readyLine, timeout]).finally(() => clearTimeout(timer));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: no handler runs, no commit in flight finishes; resolves once it is gone. */
  async kill9(): Promise<{ code: number | null; signal: string | null }> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** The exit, whenever it comes (a crash shows here). */
  exit(): Promise<{ code: number | null; signal: string | null }> {
    return this.exited;
  }

  private keep(line: string): void {
    this.tail.push(line.length > 400 ? `${line.slice(0, 400)}...` : line);
    if (this.tail.length > 40) this.tail.shift();
  }
}
