import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A real pseudo-terminal pair (no socat here): python3's pty module opens it, prints the
 * slave's path, and copies our writes to the master side, so a SerialPort opened on the path
 * with the real platform binding reads them as if a badge reader sent them.
 */
export interface PtyPair {
  path: string;
  write(bytes: Buffer | string): void;
  close(): Promise<void>;
}

const RELAY = [
  'import os, pty, sys, tty',
  'm, s = pty.openpty()',
  'tty.setraw(s)',
  'print(os.ttyname(s), flush=True)',
  'while True:',
  '    data = os.read(0, 1024)',
  '    if not data: break',
  '    os.write(m, data)',
].join('\n');

export async function openPty(): Promise<PtyPair> {
  const child: ChildProcess = spawn('python3', ['-c', RELAY], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const path = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    path,
    write: (bytes) => void child.stdin!.write(bytes),
    async close() {
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
