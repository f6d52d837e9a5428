import type { ApiRoute } from '../route';
import { ConfigPatchSchema, TimeRequestSchema } from '../schemas';

export const settingsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/time',
    summary: "The reader's clock.",
    tag: 'time',
    access: 'host',
    handle: ({ reader }) => {
      const now = reader.clock.now();
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
    handle: ({ reader, body }) => {
      reader.setTime(Date.parse((body as { time: string }).time));
      const now = reader.clock.now();
      return { time: new Date(now).toISOString(), epochMs: now };
    },
  },
  {
    method: 'GET',
    path: '/config',
    summary: 'The reader configuration (secrets left out).',
    tag: 'config',
    access: 'host',
    handle: ({ reader }) => reader.visibleConfig(),
  },
  {
    method: 'PATCH',
    path: '/config',
    summary: 'Changes some keys; validated, persisted, applied without a restart.',
    tag: 'config',
    access: 'host',
    body: ConfigPatchSchema,
    handle: ({ reader, body }) => {
      const changed = reader.updateConfig(body as Record<string, unknown>);
      return { changed, config: reader.visibleConfig() };
    },
  },
];
