import type { CommandEntry } from '../command';

/**
 * The development tools, listed by `reader-sim --help` under their own heading. They may use
 * the devDependencies, so they run in a checkout after `npm install`, not in a production
 * install; this table itself loads nothing (scripts/cli.ts imports it in every install).
 */
export const devTools: CommandEntry[] = [
  {
    name: 'bench',
    summary: 'measure storage, core, BLE, mobile, host and OSDP figures against their targets',
    load: async () => (await import('./bench-command')).bench,
  },
  {
    name: 'soak',
    summary:
      'kill -9 the real reader under load, again and again; check nothing acknowledged is lost',
    load: async () => (await import('./soak-command')).soak,
  },
];
