import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../storage';
import { probeScript } from '../../scripts/dev/bench/storage';
import { benchContent } from '../../scripts/dev/bench/storage-data';

/**
 * The storage bench measures mount and RSS in a child that runs the probe as compiled
 * JavaScript: every module the probe imports must come along (a missed one broke the bench
 * once, when the probe's files were listed by hand).
 */
describe('storage bench probe', () => {
  it('compiles with everything it imports and mounts and finds every credential', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-probe-'));
    try {
      const dir = path.join(work, 'flash');
      fs.mkdirSync(dir);
      const store = openStore({ dir });
      store.database.replace(benchContent(200));
      store.close();
      const [node, ...args] = probeScript();
      const child = spawnSync(node!, [...args, dir, '200', '1000'], { encoding: 'utf8' });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const probe = JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number>;
      expect(probe).toMatchObject({ credentials: 200, misses: 0 });
      expect(probe.p99us).toBeGreaterThan(0);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
