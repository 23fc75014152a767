/**
 * Every Kafka topic the system produces or consumes. Names carry their major version: a breaking
 * change to a payload means a new topic, never an in-place change (see docs/adr).
 */
export const Topics = {
  paymentCommands: 'payments.commands.v1',
  paymentEvents: 'payments.events.v1',
  clearingCommands: 'clearing.commands.v1',
  clearingEvents: 'clearing.events.v1',
  voidCommands: 'voids.commands.v1',
  voidEvents: 'voids.events.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** The topics that a service consumes; each one has a dead-letter topic. */
export const ConsumedTopics: readonly TopicName[] = [
  Topics.paymentCommands,
  Topics.paymentEvents,
  Topics.clearingCommands,
  Topics.clearingEvents,
  Topics.voidCommands,
  Topics.voidEvents,
];

const DEAD_LETTER_SUFFIX = '.dlq';

/** Dead-letter topic of a consumed topic: `payments.commands.v1` -> `payments.commands.v1.dlq`. */
export function deadLetterTopicOf(topic: TopicName): string {
  return `${topic}${DEAD_LETTER_SUFFIX}`;
}

/** Every topic, dead-letter topics included, in a stable order. */
export function allTopics(): string[] {
  const topics: string[] = Object.values(Topics);
  return [...topics, ...ConsumedTopics.map(deadLetterTopicOf)];
}
