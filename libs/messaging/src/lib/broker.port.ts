/**
 * The small Kafka port the services code against. kafkajs is the adapter today; it is unmaintained,
 * so nothing outside this library may import it (a KafkaJS-compatible client can replace the
 * adapter without touching a service).
 */

export interface OutboundMessage {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer | string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface InboundMessage {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets exceed 2^53 in principle: kept as the decimal string the broker sent. */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, milliseconds since the epoch. */
  readonly timestamp: number;
}

/** The broker refused a message as larger than the topic's `max.message.bytes`: sending it again cannot succeed. */
export class MessageTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageTooLargeError';
  }
}

export interface MessageProducer {
  /**
   * Resolves once the broker acknowledged every message (acks=all, idempotent producer). Rejects
   * with MessageTooLargeError when a message exceeds its topic's size limit.
   */
  send(messages: readonly OutboundMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface HandlerContext {
  /** Keeps the group membership alive while a handler waits (retries, backoff). */
  heartbeat(): Promise<void>;
}

/**
 * Called for each message, in partition order. The offset is committed only after the returned
 * promise resolves; a rejection stops the partition and the message is delivered again.
 */
export type MessageHandler = (message: InboundMessage, context: HandlerContext) => Promise<void>;

/**
 * Called with consecutive messages of one partition, in offset order. Their offsets are committed
 * only after the returned promise resolves; a rejection stops the partition and they are all
 * delivered again.
 */
export type BatchHandler = (messages: readonly InboundMessage[], context: HandlerContext) => Promise<void>;

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts; defaults to the earliest message. */
  readonly fromBeginning?: boolean;
  /**
   * How long the broker may hold a fetch to gather more messages, for consumers that handle them
   * in batches; by default it answers as soon as any message is there.
   */
  readonly gatherMs?: number;
}

export interface MessageConsumer {
  /** Starts consuming in the background; resolves once the group has been joined. */
  run(handler: MessageHandler): Promise<void>;
  /** As `run`, with up to `maxMessages` consecutive messages of a partition at a time. */
  runBatches(handler: BatchHandler, maxMessages: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor?: number;
  /** Topic configuration entries for a topic created now, e.g. `max.message.bytes`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** The first and the next offset of a partition: `high - low` messages are in it (fewer once compacted). */
export interface PartitionOffsets {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

export interface TopicOffsets {
  readonly topic: string;
  readonly partitions: readonly PartitionOffsets[];
}

export interface ConsumerGroupInfo {
  readonly groupId: string;
  /** As the group coordinator reports it: Stable, Empty, PreparingRebalance, Dead, ... */
  readonly state: string;
  readonly members: number;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will read; `-1` when it never committed on this partition. */
  readonly offset: string;
}

/** A range of one partition to read: `from` inclusive, `until` exclusive; no `until` follows the partition. */
export interface ReadRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: string;
  readonly until?: string;
}

export interface ReadOptions {
  /** Stops reading (and resolves) when aborted: how a follower ends. */
  readonly signal?: AbortSignal;
}

/**
 * Operator and tooling access, on top of what services need: offsets, groups and reading arbitrary
 * ranges without joining a service's consumer group or committing anything.
 */
export interface BrokerAdmin {
  /** Every topic except the broker's internal ones (`__consumer_offsets`, ...). */
  listTopics(): Promise<string[]>;
  topicOffsets(topics: readonly string[]): Promise<TopicOffsets[]>;
  /** Per partition, the first offset whose timestamp is at or after `timestampMs` (the end offset when none). */
  offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: string }[]>;
  listConsumerGroups(): Promise<ConsumerGroupInfo[]>;
  committedOffsets(groupId: string): Promise<CommittedOffset[]>;
  /**
   * Hands every message of the ranges to `handler`, in order within each partition. Resolves once every
   * bounded range has been read (at once when all are empty) or when `options.signal` aborts.
   */
  readMessages(ranges: readonly ReadRange[], handler: (message: InboundMessage) => Promise<void>, options?: ReadOptions): Promise<void>;
}

export interface MessageBroker extends BrokerAdmin {
  createProducer(): Promise<MessageProducer>;
  createConsumer(options: ConsumerOptions): Promise<MessageConsumer>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Rejects when the cluster does not answer a metadata request within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerConnection {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly ssl?: boolean;
  /** TLS with a private CA or without certificate checks (operators' tools); implies `ssl`. */
  readonly tls?: {
    readonly ca?: string;
    readonly rejectUnauthorized?: boolean;
  };
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
}
