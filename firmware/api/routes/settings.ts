import type { ApiRoute } from '../route';
import type { RunningReader } from '../../running-reader';
import { ConfigPatchSchema, HOST_CONFIG_KEYS, TimeRequestSchema } from '../schemas';
import { ConfigSchema, ConfigUpdateSchema, TimeSchema } from '../responses';

export const settingsRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/time',
    summary: "The reader's clock.",
    tag: 'time',
    access: 'host',
    response: TimeSchema,
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
    response: TimeSchema,
    errors: ['store_full', 'power_lost'],
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
    response: ConfigSchema,
    handle: ({ reader }) => hostConfig(reader),
  },
  {
    method: 'PATCH',
    path: '/config',
    summary: 'Changes some keys; validated, persisted, applied without a restart.',
    tag: 'config',
    access: 'host',
    body: ConfigPatchSchema,
    response: ConfigUpdateSchema,
    errors: ['store_full', 'power_lost'],
    handle: ({ reader, body }) => {
      const changed = reader.updateConfig(body as Record<string, unknown>);
      return { changed, config: hostConfig(reader) };
    },
  },
];

/**
 * The config as the host reads and patches it: the same keys both ways, so a GET's answer is
 * a valid PATCH body (the access-point state has its own endpoint; secrets never leave).
 */
function hostConfig(reader: RunningReader): Record<string, unknown> {
  const config = reader.visibleConfig();
  return Object.fromEntries(HOST_CONFIG_KEYS.map((key) => [key, config[key]]));
}
