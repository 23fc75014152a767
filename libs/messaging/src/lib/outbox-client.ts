import { EntityManager } from 'typeorm';
import { MessageContracts, TopicName } from '@pos/contracts';
import { Outbox } from './outbox';

export interface EmitOptions {
  /** The caller's transaction: the event commits with the state change it announces, or not at all. */
  readonly manager: EntityManager;
  /** Kafka key: the aggregate whose order matters (the merchant, for anything touching a batch). */
  readonly key: string;
  readonly subject?: string;
  /** Only for a type that more than one topic's contract carries. */
  readonly topic?: TopicName;
}

/**
 * The sending side of the handlers' transport, shaped like Nest's `ClientProxy.emit`: an event is
 * written to the outbox in the caller's transaction and published by the relay once committed;
 * nothing here produces to Kafka. The topic is the one whose contract carries the type.
 */
export class OutboxClient {
  constructor(private readonly outbox: Outbox) {}

  /** Resolves to the event's id (`ce_id`) once its outbox row is written. */
  async emit<T>(type: string, data: T, options: EmitOptions): Promise<string> {
    const [id] = await this.outbox.append(options.manager, [
      { topic: options.topic ?? topicOf(type), type, key: options.key, data, ...(options.subject !== undefined ? { subject: options.subject } : {}) },
    ]);
    return id;
  }
}

function topicOf(type: string): TopicName {
  const topics = [...new Set(MessageContracts.filter((contract) => contract.type === type).map((contract) => contract.topic))];
  if (topics.length === 1) return topics[0];
  throw new Error(topics.length === 0 ? `${type} is the type of no contract` : `${type} is carried by ${topics.join(' and ')}: name the topic`);
}
