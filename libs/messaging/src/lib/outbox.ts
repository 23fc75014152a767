import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { contractFor, TopicName } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { encodeEnvelope } from './envelope-codec';
import { MessageValidator } from './message-validator';
import { traceparentForEvents } from './trace-scope';

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
 * An outbox row to insert: headers and payload are JSON text for jsonb columns. The trace context
 * has a column of its own; the relay sends it as `ce_traceparent` with the other headers.
 */
export interface OutboxEntry {
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  readonly headers: string;
  readonly payload: string;
  readonly traceparent: string;
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
    const insert = this.insert(messages);
    await tx.query(insert.sql, insert.values);
    return insert.ids;
  }

  /**
   * The same rows as one INSERT statement, for a caller that writes its state change and the
   * events in a single statement (one round trip): embed `sql` as a CTE, pass `values` from
   * parameter `$firstParameter` on, and with `onlyIf` (an SQL condition such as
   * `EXISTS (SELECT 1 FROM updated)`) the rows are written only when it holds.
   */
  insert(
    messages: readonly OutboxMessage[],
    options: { readonly firstParameter?: number; readonly onlyIf?: string } = {},
  ): { readonly sql: string; readonly values: unknown[]; readonly ids: string[] } {
    if (messages.length === 0) throw new Error('an outbox insert needs at least one message');
    const first = options.firstParameter ?? 1;
    const values: unknown[] = [];
    const rows: string[] = [];
    const encoded = this.encode(messages);
    for (const row of encoded) {
      const p = first + values.length;
      // Typed, so the rows read the same in a VALUES list of their own (see onlyIf).
      rows.push(`($${p}::uuid, $${p + 1}::text, $${p + 2}::text, $${p + 3}::jsonb, $${p + 4}::jsonb, $${p + 5}::text)`);
      values.push(row.eventId, row.topic, row.key, row.headers, row.payload, row.traceparent);
    }
    const columns = 'INSERT INTO outbox (event_id, topic, message_key, headers, payload, traceparent)';
    const sql = options.onlyIf
      ? `${columns} SELECT * FROM (VALUES ${rows.join(', ')}) AS event WHERE ${options.onlyIf}`
      : `${columns} VALUES ${rows.join(', ')}`;
    return { sql, values, ids: encoded.map((row) => row.eventId) };
  }

  /**
   * The outbox rows of these messages, validated and with their CloudEvents headers, for a caller
   * that inserts them itself (e.g. many payments' events in one statement, from arrays). They
   * carry the trace of the request or event being handled (see trace-scope.ts).
   */
  encode(messages: readonly OutboxMessage[]): OutboxEntry[] {
    const time = this.clock.now().toISOString();
    const traceparent = traceparentForEvents();
    return messages.map((message) => {
      const contract = contractFor(message.topic, message.type);
      if (!contract) throw new Error(`${message.type} is not a message of ${message.topic}`);
      this.validator.assertValid(message.topic, message.type, message.data);
      const eventId = randomUUID();
      const encoded = encodeEnvelope(message.topic, {
        id: eventId,
        type: message.type,
        source: this.source,
        time,
        schemaVersion: contract.schemaVersion,
        key: message.key,
        data: message.data,
        ...(message.subject !== undefined ? { subject: message.subject } : {}),
      });
      return {
        eventId,
        topic: message.topic,
        key: message.key,
        headers: JSON.stringify(encoded.headers),
        payload: JSON.stringify(message.data),
        traceparent,
      };
    });
  }
}
