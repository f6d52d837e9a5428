import { Command } from '../command';

export interface CommandEntry {
  name: string;
  /** Loads the command's module: only the command that runs pays for its imports. */
  load(): Promise<Command>;
}

/** Every `reader-sim` subcommand, in the order `--help` lists them. */
export const commands: CommandEntry[] = [
  { name: 'start', load: async () => (await import('./start')).start },
  { name: 'bench', load: async () => (await import('../dev/bench-command')).bench },
  { name: 'host', load: async () => (await import('./host')).host },
  { name: 'flash', load: async () => (await import('./flash')).flash },
  { name: 'phone', load: async () => (await import('./phone')).phone },
  { name: 'soak', load: async () => (await import('../dev/soak-command')).soak },
];
