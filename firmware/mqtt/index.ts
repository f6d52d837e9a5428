/** The MQTT host link: readers connect out to the management system's broker (docs/MQTT.md). */
export {
  attachMqttLink,
  type LinkTarget,
  type MqttLink,
  type MqttLinkOptions,
  type MqttLinkStatus,
  type MqttTls,
  type PerReader,
} from './link';
export {
  MQTT_COMMAND_NAMES,
  runCommand,
  type CommandOutcome,
  type PayloadLimits,
} from './commands';
export { ConnectionPacer, ReconnectBackoff } from './pacing';
export { DEFAULT_TOPIC_PREFIX, readerTopics, type ReaderTopics } from './topics';
