/**
 * The MQTT topic tree of one reader (docs/MQTT.md), below a prefix the site chooses:
 *
 *   PREFIX/READER/status                  retained; online, or offline (the will)
 *   PREFIX/READER/events                  one event per message, QoS 1, seq order
 *   PREFIX/READER/commands/COMMAND/REQ    the management system's commands (push, delta, ...)
 *   PREFIX/READER/replies                 a command's result, naming its REQ
 *   PREFIX/READER/errors                  a command's refusal, naming its REQ (when it had one)
 *
 * MQTT wildcards and the separator cannot appear in a reader id or a request id: the tree
 * must stay one level per part, or one reader's subscription would match another's topics.
 */

export const DEFAULT_TOPIC_PREFIX = 'readers';

/** An id usable as one topic level: printable ASCII without '/', '+', '#'. */
const TOPIC_LEVEL = /^[\x21-\x22\x24-\x2a\x2c-\x2e\x30-\x7e]{1,128}$/;

export function isTopicLevel(text: string): boolean {
  return TOPIC_LEVEL.test(text);
}

export interface ReaderTopics {
  status: string;
  events: string;
  /** The subscription for every command to this reader. */
  commands: string;
  replies: string;
  errors: string;
  /** The command and request id of a topic under `commands`, or why it is not one. */
  parseCommand(topic: string): { command: string; requestId?: string } | undefined;
}

export function readerTopics(prefix: string, readerId: string): ReaderTopics {
  if (!prefix.split('/').every(isTopicLevel)) {
    throw new Error(
      `MQTT topic prefix ${JSON.stringify(prefix)}: levels of printable ASCII without + or #`,
    );
  }
  if (!isTopicLevel(readerId)) {
    throw new Error(
      `reader id ${JSON.stringify(readerId)} cannot be an MQTT topic level (no /, + or #)`,
    );
  }
  const root = `${prefix}/${readerId}`;
  const commandRoot = `${root}/commands/`;
  return {
    status: `${root}/status`,
    events: `${root}/events`,
    commands: `${commandRoot}#`,
    replies: `${root}/replies`,
    errors: `${root}/errors`,
    parseCommand(topic) {
      if (!topic.startsWith(commandRoot)) return undefined;
      const [command, requestId, ...rest] = topic.slice(commandRoot.length).split('/');
      if (!command || rest.length) return { command: command ?? '' };
      return { command, requestId };
    },
  };
}
