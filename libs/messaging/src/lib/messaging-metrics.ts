import { EntityManager } from 'typeorm';
import { DeadLetterReason } from '@pos/contracts';
import { BrokerAdmin } from './broker.port';

/**
 * What the reliable consumer reports as it goes, for a service's metrics: called once per dead
 * letter written and per failed handler attempt, so an implementation must be as cheap as a
 * counter increment.
 */
export interface MessagingObserver {
  deadLettered(deadLetterTopic: string, reason: DeadLetterReason): void;
  handlerFailed(groupId: string, eventType: string, outcome: 'retry' | 'dead_letter'): void;
}

export const NO_MESSAGING_OBSERVER: MessagingObserver = {
  deadLettered: () => undefined,
  handlerFailed: () => undefined,
};

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Messages on the partition past the group's committed offset (all of them when it never committed). */
  readonly lag: number;
}

/**
 * The lag of a service's consumer groups, read from the broker on demand (a metrics scrape), never
 * per message: for each partition of each group's topics, the end offset (high watermark) minus the
 * offset the group committed, which the reliable consumer commits only once the messages' effects
 * are in PostgreSQL. A partition the group never committed on counts from its first offset, as a
 * group starting from the earliest message reads it.
 */
export class ConsumerGroupLag {
  private readonly groups = new Map<string, readonly string[]>();

  constructor(private readonly broker: BrokerAdmin) {}

  /** A group whose lag is to be read; registered before it joins, so its lag shows while it starts. */
  watch(groupId: string, topics: readonly string[]): void {
    this.groups.set(groupId, topics);
  }

  async read(): Promise<PartitionLag[]> {
    const perGroup = await Promise.all(
      [...this.groups].map(async ([group, topics]) => {
        const [ends, committed] = await Promise.all([this.broker.topicOffsets(topics), this.broker.committedOffsets(group)]);
        const position = new Map(committed.map((c) => [`${c.topic}\u0000${c.partition}`, BigInt(c.offset)]));
        return ends.flatMap(({ topic, partitions }) =>
          partitions.map(({ partition, low, high }) => {
            const at = position.get(`${topic}\u0000${partition}`);
            const from = at === undefined || at < 0n ? BigInt(low) : at;
            const lag = BigInt(high) - from;
            return { group, topic, partition, lag: Number(lag > 0n ? lag : 0n) };
          }),
        );
      }),
    );
    return perGroup.flat();
  }
}

/**
 * Rows of the schema's outbox not yet published, and how long the oldest has waited. Counted
 * through the partial index of unpublished rows, so it stays cheap however many published rows the
 * outbox keeps.
 */
export async function readOutboxBacklog(db: EntityManager): Promise<{ rows: number; oldestAgeSeconds: number }> {
  const [row] = await db.query<{ rows: number; oldest_age_seconds: number | null }[]>(
    `SELECT count(*)::int AS rows, extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_age_seconds
       FROM outbox WHERE published_at IS NULL`,
  );
  return { rows: row?.rows ?? 0, oldestAgeSeconds: Math.max(0, row?.oldest_age_seconds ?? 0) };
}
