import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../run-cli';
import { eventually, sampleDatabase, startTestReader, type TestReader } from './harness';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('reader-sim host (the CLI client against a real server)', () => {
  let reader: TestReader;
  let host: (...args: string[]) => Promise<Run>;
  beforeAll(async () => {
    reader = await startTestReader();
    // In-process through the CLI's own entry (argument parsing, exit codes, output), one
    // command at a time: spawning ts-node per call would cost seconds each.
    host = async (...args) => {
      const { code, out, err } = await runCli([
        'host',
        '--url',
        reader.api.url,
        '--data',
        reader.dataDir,
        ...args,
      ]);
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    };
  });
  afterAll(() => reader.close());

  it('pushes a file, shows status as JSON, presents a badge and lists events', async () => {
    const file = path.join(reader.dataDir, 'db.json');
    fs.writeFileSync(file, JSON.stringify(sampleDatabase(2)));
    const push = await host('push', file);
    expect(push).toMatchObject({ code: 0 });
    expect(push.stdout).toMatch(/^database version 1: 2 users, 2 credentials/);

    const status = await host('status', '--json');
    const badge = await host('sim', 'badge', '10001');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ database: { version: 1 } });
    expect(badge.code).toBe(0);
    expect(badge.stdout).toMatch(/access {2}grant: granted {2}credential uc1/);

    const events = await host('events', '--json');
    const page = JSON.parse(events.stdout) as { events: { type: string }[] };
    expect(page.events.map((e) => e.type)).toContain('access');
  });

  it('arms a brown-out: the next push fails with power_lost and the reader reboots', async () => {
    const armed = await host('sim', 'power-cycle', '--after-flash-ops', '1', '--model', 'bits');
    expect(armed).toMatchObject({ code: 0 });
    expect(armed.stdout).toMatch(/armed: true/);
    const before = await reader.client.content();
    const push = await host('push', path.join(reader.dataDir, 'db.json'));
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/503 power_lost/);
    await eventually(async () => (await reader.client.health()).state === 'running');
    expect(await reader.client.content()).toEqual(before);
    const noOps = await host('sim', 'power-cycle', '--model', 'bits');
    expect(noOps.code).toBe(2);
  });

  it('fails with the API error or a usage error, and a clear exit code', async () => {
    const badState = await host('state', 'party');
    const badAck = await host('ack', 'x');
    const badToken = await host('--token', 'wrong-token-wrong-token-wrong-token-xx', 'status');
    const noFile = await host('push', '/nonexistent.json');
    expect(badState.code).toBe(1);
    expect(badState.stderr.trim()).toBe(
      'reader-sim host: 400 bad_request: params /state must be one of schedule, unlock, lockdown, admit',
    );
    expect(badAck.code).toBe(2);
    expect(badAck.stderr).toMatch(/SEQ must be a non-negative integer/);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/401 unauthorized/);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read \/nonexistent.json/);
  });
});
