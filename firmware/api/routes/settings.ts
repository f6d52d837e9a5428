import type { ApiRoute } from '../route';
import { ConfigPatchSchema, TimeRequestSchema } from '../schemas';

export const settingsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/time',
    summary: "The reader's clock.",
    tag: 'time',
    access: 'host',
    handle: ({ firmware }) => {
      const now = firmware.clock.now();
      return { time: new Date(now).toISOString(), epochMs: now };
    },
  },
  {
    method: 'PUT',
    path: '/time',
    summary: 'Host time sync: sets the clock; schedules recompute their state from the windows.',
    tag: 'time',
    access: 'host',
    body: TimeRequestSchema,
    handle: ({ firmware, body }) => {
      firmware.setTime(Date.parse((body as { time: string }).time));
      const now = firmware.clock.now();
      return { time: new Date(now).toISOString(), epochMs: now };
    },
  },
  {
    method: 'GET',
    path: '/config',
    summary: 'The reader configuration (secrets left out).',
    tag: 'config',
    access: 'host',
    handle: ({ firmware }) => firmware.config(),
  },
  {
    method: 'PATCH',
    path: '/config',
    summary: 'Changes some keys; validated, persisted, applied without a restart.',
    tag: 'config',
    access: 'host',
    body: ConfigPatchSchema,
    handle: ({ firmware, body }) => {
      const changed = firmware.updateConfig(body as Record<string, unknown>);
      return { changed, config: firmware.config() };
    },
  },
];
