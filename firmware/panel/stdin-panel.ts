import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ACCESS_POINT_COMMANDS, AccessPointState } from '../access-point';
import { ReaderLog } from '../foundation/log';
import { parsePresentation } from '../foundation/presentation';
import { RunningReader } from '../running-reader';

/**
 * The sim profile's front panel on stdin, one command a line, so a person or a script can
 * drive the reader without hardware (BLE and the host API arrive in later issues):
 *   badge VALUE | keys 1234# | rex | door open|close | state schedule|unlock|lockdown|admit
 *   enroll USER | status | help
 * A bad line gets a one-line reason; the reader keeps running.
 */
export const PANEL_HELP =
  'panel: badge VALUE | keys DIGITS# | rex | door open|close | state ' +
  `${ACCESS_POINT_COMMANDS.join('|')} | enroll USER | status`;

export function attachPanel(input: Readable, running: RunningReader, log: ReaderLog): () => void {
  const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
  lines.on('line', (line) => {
    try {
      handle(line.trim(), running, log);
    } catch (err) {
      // A mistyped panel command: the person at the console reads the one-line reason.
      log.warn(
        { line: line.slice(0, 80), err: err instanceof Error ? err.message : String(err) },
        'panel: rejected',
      );
    }
  });
  return () => lines.close();
}

function handle(line: string, running: RunningReader, log: ReaderLog): void {
  if (line === '') return;
  const [verb, arg] = line.split(/\s+/, 2);
  const { reader, door, accessPoint, config, clock, keypad } = running;
  switch (verb) {
    case 'badge':
      if (!arg) throw new Error('badge needs a value');
      void reader
        .present(
          parsePresentation({
            kind: 'badge',
            value: arg,
            source: 'sim',
            accessPointId: config.get().accessPointId,
            at: clock.now(),
          }),
        )
        .catch((err: unknown) => log.warn({ err }, 'panel: badge not taken'));
      return;
    case 'keys':
      if (!arg) throw new Error('keys needs keys, e.g. keys 1234#');
      keypad.type(arg);
      return;
    case 'rex':
      door.rex();
      return;
    case 'door':
      if (arg !== 'open' && arg !== 'close') throw new Error('door open|close');
      door.doorContact(arg === 'open');
      return;
    case 'state':
      if (!(ACCESS_POINT_COMMANDS as readonly string[]).includes(arg ?? '')) {
        throw new Error(`state ${ACCESS_POINT_COMMANDS.join('|')}`);
      }
      if (arg === 'admit') accessPoint.setState('admit');
      else config.update({ accessPointState: arg as AccessPointState });
      return;
    case 'enroll':
      reader.enroll(arg ?? '');
      return;
    case 'status':
      log.info(
        {
          door: door.status(),
          accessPoint: accessPoint.status(),
          events: running.store.events.stats(),
        },
        'status',
      );
      return;
    case 'help':
      log.info({}, PANEL_HELP);
      return;
    default:
      throw new Error(`unknown command '${verb}' (${PANEL_HELP})`);
  }
}
