import { ApiError } from '../errors';
import type { TornWriteModel } from '../../../storage/power-cut';
import type { RawData } from '../../foundation/model';
import type { ApiRoute } from '../route';
import type { RunningReader } from '../../running-reader';
import {
  BadgeRequestSchema,
  DoorParamsSchema,
  KeypadRequestSchema,
  LinkParamsSchema,
  PowerCycleRequestSchema,
  RawDataSchema,
  TamperRequestSchema,
  EmptyBodySchema,
} from '../schemas';
import { AcceptedSchema, DoorStatusSchema, LinkStateSchema, PowerCycleSchema } from '../responses';

const accepted = { accepted: true };

/**
 * A presentation the flash cannot log is still delivered (the reader refuses it visibly,
 * log_full), but the answer says so instead of a 202 that would never be logged.
 */
function deliverLogged(reader: RunningReader, deliver: () => void): typeof accepted {
  const logs = reader.store.events.canLog();
  deliver();
  if (!logs) {
    throw new ApiError(
      'store_full',
      'the event log is full: the input was delivered, the reader refuses it (log_full) and ' +
        'logs nothing until the host frees room (ack, delete, push)',
    );
  }
  return accepted;
}

/** The simulator's hands: each control drives the same input the hardware would. */
export const simRoutes: ApiRoute[] = [
  {
    method: 'POST',
    path: '/sim/badge',
    summary: 'Presents a badge at the reader, as the serial badge reader would.',
    tag: 'simulator',
    access: 'local',
    body: BadgeRequestSchema,
    status: 202,
    response: AcceptedSchema,
    errors: ['store_full'],
    handle: ({ board, reader, body }) =>
      deliverLogged(reader, () => board.touch.badge((body as { value: string }).value)),
  },
  {
    method: 'POST',
    path: '/sim/keypad',
    summary: "Types keys on the keypad: digits, '#' = enter, '*' = clear.",
    tag: 'simulator',
    access: 'local',
    body: KeypadRequestSchema,
    status: 202,
    response: AcceptedSchema,
    errors: ['store_full'],
    handle: ({ board, reader, body }) =>
      deliverLogged(reader, () => board.touch.keypad((body as { keys: string }).keys)),
  },
  {
    method: 'POST',
    path: '/sim/rex',
    summary: 'Presses the request-to-exit button.',
    tag: 'simulator',
    access: 'local',
    status: 202,
    body: EmptyBodySchema,
    response: AcceptedSchema,
    handle: ({ board }) => {
      board.touch.rex();
      return accepted;
    },
  },
  {
    method: 'POST',
    path: '/sim/door/:position',
    summary: 'Opens or closes the door (the door contact input).',
    tag: 'simulator',
    access: 'local',
    params: DoorParamsSchema,
    body: EmptyBodySchema,
    response: DoorStatusSchema,
    handle: ({ board, reader, params }) => {
      board.touch.door(params.position === 'open');
      return reader.status().door;
    },
  },
  {
    method: 'POST',
    path: '/sim/tamper',
    summary: 'Sets or clears the tamper input.',
    tag: 'simulator',
    access: 'local',
    body: TamperRequestSchema,
    response: DoorStatusSchema,
    handle: ({ board, reader, body }) => {
      board.touch.tamper((body as { active: boolean }).active);
      return reader.status().door;
    },
  },
  {
    method: 'POST',
    path: '/sim/enroll/capture',
    summary: 'Feeds the Raw Data a phone would send over BLE while the reader is in enroll mode.',
    tag: 'simulator',
    access: 'local',
    body: RawDataSchema,
    status: 202,
    response: AcceptedSchema,
    errors: ['not_in_enroll_mode', 'store_full'],
    handle: ({ board, reader, body }) =>
      deliverLogged(reader, () => board.touch.enrollCapture(body as RawData)),
  },
  {
    method: 'GET',
    path: '/sim/link',
    summary: 'The host link: up or down.',
    tag: 'simulator',
    access: 'local',
    needsFirmware: false,
    response: LinkStateSchema,
    handle: ({ link }) => link.state(),
  },
  {
    method: 'POST',
    path: '/sim/link/:action',
    summary:
      'Cuts or restores the host link. While cut, host endpoints answer 503 host_link_down and event streams end; events stay in flash.',
    tag: 'simulator',
    access: 'local',
    needsFirmware: false,
    params: LinkParamsSchema,
    body: EmptyBodySchema,
    response: LinkStateSchema,
    handle: ({ link, params }) => {
      if (params.action === 'cut') link.cut();
      else link.restore();
      return link.state();
    },
  },
  {
    method: 'POST',
    path: '/sim/power-cycle',
    summary:
      'Power-cycles the reader: the firmware stops and boots again from the flash image (answers once booted). With afterFlashOps, arms a brown-out inside a later flash write instead.',
    tag: 'simulator',
    access: 'local',
    needsFirmware: false,
    body: PowerCycleRequestSchema,
    response: PowerCycleSchema,
    errors: ['not_supported', 'power_lost'],
    handle: async ({ board, body }) => {
      const { afterFlashOps, model } = (body ?? {}) as {
        afterFlashOps?: number;
        model?: TornWriteModel;
      };
      if (model !== undefined && afterFlashOps === undefined) {
        throw new ApiError('bad_request', 'body /model needs afterFlashOps', '/model', {
          part: 'body',
        });
      }
      if (afterFlashOps !== undefined) {
        if (!board.canCutPower) {
          throw new ApiError('not_supported', 'this board cannot cut power inside a flash write');
        }
        board.armPowerCut(afterFlashOps, model);
        return { armed: true, afterFlashOps, model: model ?? 'prefix' };
      }
      const started = process.hrtime.bigint();
      await board.powerCycle();
      return { booted: true, bootMs: Number(process.hrtime.bigint() - started) / 1e6 };
    },
  },
];
