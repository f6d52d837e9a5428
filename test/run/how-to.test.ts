/**
 * docs/MOBILE.md's how-to, run from the doc itself: every command of its shell block, in the
 * order written, as child processes of the CLI, from the example site database. The only
 * changes are the flags that point at this test's own reader (API port, air socket, URL), so
 * the doc and what works cannot drift apart. A step the table below does not know fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownChildren } from '../children';
import { cliCommand } from '../cli-command';
import { freePort } from '../free-port';
import { until } from '../poll';

jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '../..');
// `npx reader-sim` as the suite runs it (test/cli-command.ts): the how-to's steps are a dozen
// processes, and clone-and-run.test.ts runs the README's own `npx reader-sim`.
const cli = cliCommand();
const children = ownChildren();

/** A phone answered less than this ago gets `cooldown` (blePhoneCooldownMs, 3 s by default). */
const COOLDOWN_MS = 3000;

/** The commands of the how-to's shell block, comments dropped, in order. */
function howToCommands(markdown: string): string[] {
  const section = markdown.split('\n## The how-to, on one machine\n')[1];
  if (!section) throw new Error('docs/MOBILE.md has no "The how-to, on one machine" section');
  const block = /```sh\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error('the how-to has no ```sh block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Step {
  /** Checks what the command printed (and keeps what later steps need). */
  check(ran: Ran): void;
  phone?: boolean;
}

describe('docs/MOBILE.md how-to, through the CLI, in the order written', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'how-to-'));
    fs.cpSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function run(argv: string[]): Promise<Ran> {
    const child = children.spawn(cli.command, [...cli.args, ...argv], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, READER_SIM_TOKEN: '', READER_SIM_URL: '', READER_SIM_AIR: '' },
    });
    const ran: Ran = { code: null, stdout: '', stderr: '' };
    child.stdout!.on('data', (d: Buffer) => (ran.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (ran.stderr += d.toString()));
    return new Promise((resolve) =>
      child.on('close', (code) => resolve({ ...ran, code: code ?? null })),
    );
  }

  it('push the site, keygen, enroll, issue, unlock granted, too far denied, one use counted', async () => {
    const commands = howToCommands(fs.readFileSync(path.join(ROOT, 'docs/MOBILE.md'), 'utf8'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const air = path.join(dir, 'air.sock');
    let enrollmentId = '';

    const steps: Record<string, Step> = {
      'npx reader-sim host push examples/site.json': {
        check: (r) =>
          expect(r.stdout).toMatch(/^database version 1: 3 users, 2 credentials, 1 schedules/),
      },
      'npx reader-sim phone keygen': {
        check: () => expect(fs.existsSync(path.join(dir, 'phone-key.json'))).toBe(true),
      },
      'npx reader-sim host enroll alice': {
        check: (r) => {
          const m = /^enrollment (\S+): pending \(user alice\)/.exec(r.stdout);
          expect(m).not.toBeNull();
          enrollmentId = m![1]!;
        },
      },
      'npx reader-sim phone enroll': {
        phone: true,
        check: (r) => expect(r.stdout.trim().split('\n').at(-1)).toBe('enrolled'),
      },
      'npx reader-sim host enrollment ID': {
        check: (r) => {
          expect(r.stdout).toContain(`enrollment ${enrollmentId}: captured (user alice)`);
          expect(r.stdout).toMatch(/raw data: \{"deviceId":"phone-[0-9a-f]+","publicKey":/);
        },
      },
      'npx reader-sim host enrollment ID --issue alice-phone': {
        check: (r) =>
          expect(r.stdout).toMatch(
            /^database version 2: credential alice-phone \(mobile, device phone-[0-9a-f]+\) for user alice/,
          ),
      },
      'npx reader-sim phone unlock': {
        phone: true,
        check: (r) =>
          expect(r.stdout.trim().split('\n')).toEqual([
            'in range (-40 dBm)',
            'connecting',
            'credential sent',
            'granted',
          ]),
      },
      'npx reader-sim phone unlock --distance 30': {
        phone: true,
        check: (r) => expect(r.stdout.trim().split('\n').at(-1)).toBe('denied: too_far'),
      },
      'npx reader-sim host content': {
        check: (r) =>
          expect(r.stdout).toMatch(
            /alice-phone {2}mobile phone-[0-9a-f]+ {2}user alice {2}uses 1\b/,
          ),
      },
    };

    expect(commands[0]).toBe('npm start -- --data ./data');
    const reader = children.spawn(
      cli.command,
      [...cli.args, 'start', '--data', './data', '--api-port', String(port), '--air', air],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    reader.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    reader.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await until(() => log.includes('BLE reader service up') || reader.exitCode !== null);
    expect(reader.exitCode).toBeNull();

    let lastPhoneAnswer = 0;
    const done: string[] = [];
    for (const command of commands.slice(1)) {
      const step = steps[command];
      if (!step) throw new Error(`a how-to step this test does not know: ${command}`);
      const [npx, bin, tool, ...rest] = command.split(/\s+/);
      expect([npx, bin]).toEqual(['npx', 'reader-sim']);
      const args = rest.map((a) => (a === 'ID' ? enrollmentId : a));
      // The doc's own advice: a few seconds between two answers to one phone. Waiting at least
      // this long only gets longer on a busy machine, never too short.
      if (step.phone) {
        const since = Date.now() - lastPhoneAnswer;
        if (since < COOLDOWN_MS + 500) {
          await new Promise((r) => setTimeout(r, COOLDOWN_MS + 500 - since));
        }
      }
      const argv =
        tool === 'host' ? ['host', '--url', url, ...args] : [tool!, ...args, '--air', air];
      const ran = await run(argv);
      if (step.phone) lastPhoneAnswer = Date.now();
      // Every step succeeds but the one the doc shows being denied (exit 1).
      const expectedCode = command.endsWith('--distance 30') ? 1 : 0;
      if (ran.code !== expectedCode) {
        throw new Error(`${command}: exit ${ran.code}\n${ran.stdout}${ran.stderr}`);
      }
      step.check(ran);
      done.push(command);
    }
    expect(done).toEqual(Object.keys(steps));
  });
});
