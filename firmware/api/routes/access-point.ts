import type { ApiRoute } from '../route';
import { AccessPointStateParamsSchema, EmptyBodySchema } from '../schemas';
import type { AccessPointCommand } from '../../access-point';
import { AccessPointStatusSchema } from '../responses';

export const accessPointRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/accesspoint/state',
    summary: 'The access-point state: schedule, unlock or lockdown (admit is a one-shot command).',
    tag: 'access point',
    access: 'host',
    response: AccessPointStatusSchema,
    handle: ({ reader }) => reader.status().accessPoint,
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
    response: AccessPointStatusSchema,
    handle: ({ reader, params }) => {
      reader.setAccessPointState(params.state as AccessPointCommand);
      return reader.status().accessPoint;
    },
  },
];
