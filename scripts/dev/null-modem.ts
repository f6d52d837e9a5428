import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Two pseudo-terminals wired back to back (a null-modem cable): bytes written to one's path
 * come out of the other's. python3's pty module opens them and copies between the master
 * sides, so each end is a real tty that `serialport` opens as it would an RS-485 adapter.
 */
export interface NullModem {
  paths: [string, string];
  close(): Promise<void>;
}

const BRIDGE = [
  'import os, pty, select, tty',
  'ends = [pty.openpty(), pty.openpty()]',
  'for m, s in ends: tty.setraw(s)',
  'print(os.ttyname(ends[0][1]), os.ttyname(ends[1][1]), flush=True)',
  'a, b = ends[0][0], ends[1][0]',
  'while True:',
  '    ready, _, _ = select.select([a, b, 0], [], [])',
  '    if 0 in ready and not os.read(0, 1024): break',
  '    for src, dst in ((a, b), (b, a)):',
  '        if src in ready:',
  '            try: os.write(dst, os.read(src, 4096))',
  '            except OSError: pass',
].join('\n');

/** `start`: how to spawn the bridge (a test passes its own, which reaps it on failure). */
export async function openNullModem(
  start: (command: string, args: string[], options: SpawnOptions) => ChildProcess = spawn,
): Promise<NullModem> {
  const child: ChildProcess = start('python3', ['-c', BRIDGE], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the pty bridge exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const [a, b] = line.split(' ');
  return {
    paths: [a, b],
    async close() {
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
