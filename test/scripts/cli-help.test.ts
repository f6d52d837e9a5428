/**
 * `reader-sim --help` prints the command list from the tables alone: every command module
 * here throws when it is loaded, and --help still lists them all.
 */
const MODULES = {
  start: '../../scripts/commands/start',
  host: '../../scripts/commands/host',
  phone: '../../scripts/commands/phone',
  osdp: '../../scripts/commands/osdp',
  flash: '../../scripts/commands/flash',
  bench: '../../scripts/dev/bench-command',
  soak: '../../scripts/dev/soak-command',
};

let run: (argv: string[]) => Promise<number>;

beforeAll(async () => {
  for (const [name, module] of Object.entries(MODULES)) {
    jest.doMock(module, () => {
      throw new Error(`loaded the ${name} module`);
    });
  }
  ({ run } = await import('../../scripts/cli'));
});

test('--help lists every command without loading one', async () => {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
  try {
    expect(await run(['--help'])).toBe(0);
  } finally {
    log.mockRestore();
  }
  const text = out.join('\n');
  for (const name of Object.keys(MODULES)) {
    expect(text).toMatch(new RegExp(`^  ${name}\\s+\\S`, 'm'));
  }
});

test('a command that runs is loaded (the stand-ins above do throw)', async () => {
  await expect(run(['flash', '--help'])).rejects.toThrow('loaded the flash module');
});
