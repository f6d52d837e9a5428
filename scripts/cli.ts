import { UsageError, wantsHelp } from './command';
import { commands } from './commands';

async function overview(): Promise<string> {
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...loaded.map((c) => c.name.length));
  const lines = loaded.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'reader-sim: an ISONAS-style access-control reader-controller simulator',
    '',
    'Usage: reader-sim COMMAND [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `reader-sim COMMAND --help` for a command’s options.',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await overview());
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`reader-sim: unknown command '${name}' (see reader-sim --help)`);
    return 2;
  }
  const command = await entry.load();
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`reader-sim ${name}: ${err.message}`);
      return 2;
    }
    console.error(`reader-sim ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
