import type { ApiRoute } from '../route';
import { AccessPointStateParamsSchema, EmptyBodySchema } from '../schemas';
import type { AccessPointCommand } from '../firmware';

export const accessPointRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/accesspoint/state',
    summary: 'The access-point state: schedule, unlock or lockdown (admit is a one-shot command).',
    tag: 'access point',
    access: 'host',
    handle: ({ firmware }) => firmware.status().accessPoint,
  },
  {
    method: 'POST',
    path: '/accesspoint/state/:state',
    summary:
      'schedule (normal), unlock (held unlocked), lockdown, or admit (one momentary unlock; the state stays).',
    tag: 'access point',
    access: 'host',
    params: AccessPointStateParamsSchema,
    body: EmptyBodySchema,
    handle: ({ firmware, params }) => {
      firmware.setAccessPointState(params.state as AccessPointCommand);
      return firmware.status().accessPoint;
    },
  },
];
