import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../storage';

/** kill -9 of the real process during load loses no acknowledged event or debit (STORAGE.md). */
describe('kill -9 during load', () => {
  it('every acknowledged grant (event + debit) is there after the process is killed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kill-'));
    try {
      const child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'kill-child.ts'), dir],
        {
          cwd: path.join(__dirname, '..', '..'),
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if ((out.match(/^ack /gm) ?? []).length >= 300) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', () => resolve());
      });
      await new Promise((resolve) => child.on('close', resolve));
      const acks = [...out.matchAll(/^ack (\d+) (\d+)$/gm)].map(
        (m) => [Number(m[1]), Number(m[2])] as const,
      );
      expect(acks.length).toBeGreaterThanOrEqual(300);
      const [lastSeq, lastUses] = acks[acks.length - 1]!;
      const store = openStore({ dir, eventCapacity: 100000 });
      expect(store.events.stats().lastSeq).toBeGreaterThanOrEqual(lastSeq);
      expect(store.database.usesOf('c1')).toBeGreaterThanOrEqual(lastUses);
      // Atomic grants: every event has its debit and vice versa.
      expect(store.database.usesOf('c1')).toBe(store.events.stats().lastSeq);
      const seqs = store.events.list(0, 100000).map((e) => e.seq);
      for (const [seq] of acks) expect(seqs[seq - 1]).toBe(seq);
      store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
