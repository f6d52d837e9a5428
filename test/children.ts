import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Child processes a test file starts, owned by the file: each runs in its own process group,
 * and after every test (or, with `{ per: 'file' }`, after the file's last one, for processes
 * a beforeAll starts), passed or failed, the whole group is killed (SIGKILL) and reaped. So
 * a failing test leaves nothing behind, grandchildren included (a reader's gpioset holders),
 * and no child handle keeps jest from exiting. Call at the top of a file or describe block.
 */
export function ownChildren(options: { per: 'test' | 'file' } = { per: 'test' }): {
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
} {
  const live = new Set<ChildProcess>();
  const reap = async () => {
    const children = [...live];
    live.clear();
    await Promise.all(children.map(killGroup));
  };
  if (options.per === 'test') afterEach(reap);
  afterAll(reap);
  return {
    spawn(command, args, options = {}) {
      const child = spawn(command, args, { ...options, detached: true });
      live.add(child);
      return child;
    },
  };
}

/** Kills the child's process group and waits for the child itself to be gone. */
async function killGroup(child: ChildProcess): Promise<void> {
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) {
    try {
      // The group outlives its leader: kill it even when the child already exited.
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  }
  await exited;
}
