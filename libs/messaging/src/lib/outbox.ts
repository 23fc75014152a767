import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { contractFor, TopicName } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { encodeEnvelope } from './envelope-codec';
import { MessageValidator } from './message-validator';

export interface OutboxMessage {
  readonly topic: TopicName;
  /** CloudEvents type, e.g. `pos.payment.succeeded`; must be a contract of the topic. */
  readonly type: string;
  /** Kafka key: the aggregate whose order matters (the merchant, for anything touching a batch). */
  readonly key: string;
  readonly subject?: string;
  readonly data: unknown;
}

/**
 * Appends events to the outbox inside the caller's transaction: the state change and the events
 * announcing it commit together or not at all. Payloads are checked against their schema first.
 */
export class Outbox {
  constructor(
    private readonly source: string,
    private readonly validator: MessageValidator,
    private readonly clock: Clock,
  ) {}

  async append(tx: EntityManager, messages: readonly OutboxMessage[]): Promise<string[]> {
    if (messages.length === 0) return [];
    const ids: string[] = [];
    const values: unknown[] = [];
    const rows: string[] = [];
    const time = this.clock.now().toISOString();
    for (const message of messages) {
      const contract = contractFor(message.topic, message.type);
      if (!contract) throw new Error(`${message.type} is not a message of ${message.topic}`);
      this.validator.assertValid(message.topic, message.type, message.data);
      const id = randomUUID();
      const encoded = encodeEnvelope(message.topic, {
        id,
        type: message.type,
        source: this.source,
        time,
        schemaVersion: contract.schemaVersion,
        key: message.key,
        data: message.data,
        ...(message.subject !== undefined ? { subject: message.subject } : {}),
      });
      const base = values.length;
      rows.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5})`);
      values.push(id, message.topic, message.key, JSON.stringify(encoded.headers), JSON.stringify(message.data));
      ids.push(id);
    }
    await tx.query(
      `INSERT INTO outbox (event_id, topic, message_key, headers, payload) VALUES ${rows.join(', ')}`,
      values,
    );
    return ids;
  }
}
