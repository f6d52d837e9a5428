import type { ApiRoute } from '../route';
import { HealthSchema, StatusSchema } from '../responses';

export const statusRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/health',
    summary: 'Liveness for a container HEALTHCHECK: no token, no details.',
    tag: 'status',
    access: 'public',
    needsFirmware: false,
    // Liveness only: no version or reader id for whoever can reach the port (GET /status
    // has them, behind the token); a version would tell a scanner which flaws to try.
    response: HealthSchema,
    handle: ({ board }) => ({ ok: true, state: board.reader() ? 'running' : 'booting' }),
  },
  {
    method: 'GET',
    path: '/status',
    summary:
      'Reader id, firmware, clock, database version and counts, LED, relay, door, access-point state, event log, host link, flash health, BLE phones in range, the OSDP link (osdp-pd role).',
    tag: 'status',
    access: 'local',
    response: StatusSchema,
    handle: ({ reader, link, ble }) => {
      const now = reader.clock.now();
      const s = reader.status();
      const { store } = reader;
      return {
        readerId: s.readerId,
        accessPointId: s.accessPointId,
        firmware: s.firmware,
        clock: { time: new Date(now).toISOString(), epochMs: now },
        bootedAt: new Date(s.bootedAt).toISOString(),
        database: { version: store.database.version(), counts: store.database.counts() },
        accessPoint: s.accessPoint,
        led: s.led,
        relay: s.relay,
        door: s.door,
        events: store.events.stats(),
        hostLink: link.state(),
        flash: store.health(),
        // Only a reader with a radio reports phones (the panel says so when it is absent).
        ...(ble ? { ble: { phones: ble.phones() } } : {}),
        // The OSDP link to the panel, in the osdp-pd role (docs/OSDP.md).
        ...(s.osdp ? { osdp: s.osdp } : {}),
      };
    },
  },
];
