import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../scripts/command';
import { host as hostCommand } from '../../scripts/commands/host';
import { sampleDatabase, settle, startTestReader, type TestReader } from '../api/harness';

describe('reader-sim host timeline', () => {
  let reader: TestReader;
  // The command object itself (scripts/cli.ts maps UsageError to exit 2, other errors to 1).
  const host = async (...args: string[]) => {
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    try {
      const code = await hostCommand.run([
        '--url',
        reader.api.url,
        '--data',
        reader.dataDir,
        ...args,
      ]);
      return { code, stdout: out.join('\n'), error: undefined };
    } catch (error) {
      return {
        code: error instanceof UsageError ? 2 : 1,
        stdout: out.join('\n'),
        error: error as Error,
      };
    } finally {
      log.mockRestore();
    }
  };

  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(2));
    await reader.clock.advanceAsync(1000);
    await reader.client.sim.badge('10001');
    await settle();
    await reader.clock.advanceAsync(6000);
  });
  afterAll(() => reader.close());

  it('writes the SVG the reader would serve for the same window', async () => {
    const file = path.join(reader.dataDir, 'scenario.svg');
    const result = await host('timeline', '--since', '7s', '--out', file);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/wrote .*scenario\.svg: .* 1 decisions/);
    const served = await fetch(
      `${reader.api.url}/api/v1/panel/timeline.svg?since=-7s&token=${reader.token}`,
    );
    const svg = fs.readFileSync(file, 'utf8');
    expect(svg).toBe(await served.text());
    expect(svg).toContain('data-reason="granted"');
    expect(svg).toMatch(/data-lane="led" data-value="green" data-from="\d+" data-to="\d+"/);
  });

  it('refuses a missing --out and a bad --since, writing nothing', async () => {
    const missing = await host('timeline');
    expect(missing.code).toBe(2);
    expect(missing.error?.message).toMatch(/--out/);
    const file = path.join(reader.dataDir, 'bad.svg');
    const bad = await host('timeline', '--since', 'last tuesday', '--out', file);
    expect(bad.code).not.toBe(0);
    expect(bad.error?.message).toMatch(/since/);
    expect(fs.existsSync(file)).toBe(false);
  });
});
