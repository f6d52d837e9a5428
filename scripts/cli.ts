import { Command, CommandEntry, UsageError, wantsHelp } from './command';
import { commands } from './commands';
import { devTools } from './dev/tools';

/** Lists the commands from the tables alone: no command module is loaded to print it. */
function overview(): string {
  const width = Math.max(...[...commands, ...devTools].map((c) => c.name.length));
  const list = (entries: CommandEntry[]) =>
    entries.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'reader-sim: an ISONAS-style access-control reader-controller simulator',
    '',
    'Usage: reader-sim COMMAND [options]',
    '',
    'Commands:',
    ...list(commands),
    '',
    'Development tools (a checkout with the dev dependencies installed):',
    ...list(devTools),
    '',
    'Run `reader-sim COMMAND --help` for a command’s options.',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name) ?? devTools.find((c) => c.name === name);
  if (!entry) {
    console.error(`reader-sim: unknown command '${name}' (see reader-sim --help)`);
    return 2;
  }
  const devTool = devTools.includes(entry);
  let command: Command;
  try {
    command = await entry.load();
  } catch (err) {
    const missing = devTool ? missingPackage(err) : undefined;
    if (missing) return devToolUnavailable(name, missing);
    throw err;
  }
  if (wantsHelp(rest)) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const missing = devTool ? missingPackage(err) : undefined;
    if (missing) return devToolUnavailable(name, missing);
    if (err instanceof UsageError) {
      console.error(`reader-sim ${name}: ${err.message}`);
      return 2;
    }
    console.error(`reader-sim ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/**
 * The package a failed require was looking for, when that is what failed: a production
 * install (`npm install --omit=dev`) has the dev tools' files but not their dependencies.
 * A missing relative path is a bug, not an install, and keeps its stack.
 */
function missingPackage(err: unknown): string | undefined {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'MODULE_NOT_FOUND') return undefined;
  const module = /Cannot find module '([^']+)'/.exec((err as Error).message)?.[1];
  return module && !module.startsWith('.') && !module.startsWith('/') ? module : undefined;
}

function devToolUnavailable(name: string, missing: string): number {
  console.error(
    `reader-sim ${name}: a development tool; it needs the dev dependencies (${missing} is not ` +
      'installed here): run it in a checkout after `npm install`',
  );
  return 1;
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
