import type { CommandEntry } from '../command';

/**
 * The shipped `reader-sim` commands, in the order `--help` lists them. None of them may
 * load a devDependency or anything under scripts/dev/ (a production install has neither).
 */
export const commands: CommandEntry[] = [
  {
    name: 'start',
    summary: 'run the reader (sim profile: console LED, flash image under the data dir)',
    // A reader process from here on: its young generation is held before the reader's
    // modules load, which alone would grow it to 16 MiB (start-memory.ts).
    load: async () => {
      (await import('./start-memory')).holdYoungGeneration();
      return (await import('./start')).start;
    },
  },
  {
    name: 'host',
    summary: 'host API client: status, push, events, state, enroll, time, config, sim controls',
    load: async () => (await import('./host')).host,
  },
  {
    name: 'phone',
    summary: 'the virtual phone: keygen | scan | enroll | unlock at a reader over BLE',
    load: async () => (await import('./phone')).phone,
  },
  {
    name: 'osdp',
    summary: 'an OSDP control panel: poll a PD, LED/BUZ/OUT, cards, KEYSET, a packet trace',
    load: async () => (await import('./osdp')).osdp,
  },
  {
    name: 'flash',
    summary: 'inspect or check (fsck) a reader flash image',
    load: async () => (await import('./flash')).flash,
  },
];
