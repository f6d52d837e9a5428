import type { Board } from '../board';
import type { FleetMember } from '../api/fleet';
import { attachMqttLink, type MqttLink, type MqttLinkOptions } from '../mqtt';
import type { RunningReader } from '../running-reader';

/** Every reader of a served site connected out to the management system's broker. */
export interface FleetMqtt {
  /** serveFleet's onBoot: a link for the firmware that just booted, closed at its power-off. */
  onBoot(member: FleetMember, reader: RunningReader, board: Board): () => void;
  /** The link of each reader now running, by reader id. */
  links(): ReadonlyMap<string, MqttLink>;
  /** Closes every link (each says offline, retained): call before the readers power off. */
  close(): Promise<void>;
}

/**
 * One MQTT link per reader of a site, all from the same options: the pacer in them is shared,
 * so a site of hundreds connects a few readers at a time. Each link follows its reader's own
 * host link (the API's simulated cable), so cutting one reader's cable drops only its MQTT.
 * Usernames and passwords made from the reader id give each reader its own credentials.
 */
export function linkFleetOut(options: Omit<MqttLinkOptions, 'hostLink'>): FleetMqtt {
  const links = new Map<string, MqttLink>();
  return {
    onBoot(member, reader, board) {
      const link = attachMqttLink({ reader, board }, { ...options, hostLink: member.link });
      links.set(member.id, link);
      return () => {
        void link.close();
        // A newer boot's link may already stand in its place.
        if (links.get(member.id) === link) links.delete(member.id);
      };
    },
    links: () => links,
    async close() {
      await Promise.all([...links.values()].map((link) => link.close()));
    },
  };
}
