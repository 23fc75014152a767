import {
  CommittedOffset,
  ConsumerGroupInfo,
  ConsumerOptions,
  InboundMessage,
  MessageBroker,
  MessageConsumer,
  MessageProducer,
  OutboundMessage,
  ReadOptions,
  ReadRange,
  TopicOffsets,
  TopicSpec,
} from './broker.port';

/**
 * Puts every topic and consumer group of a service under a prefix, invisibly to the service:
 * outgoing topic names gain it, incoming ones lose it. Test suites give each test its own prefix,
 * so tests share one broker without seeing each other's messages; production runs with none.
 */
export class NamespacedBroker implements MessageBroker {
  constructor(
    private readonly inner: MessageBroker,
    private readonly prefix: string,
  ) {}

  private physical(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  private logical(topic: string): string {
    return topic.startsWith(this.prefix) ? topic.slice(this.prefix.length) : topic;
  }

  async createProducer(): Promise<MessageProducer> {
    const producer = await this.inner.createProducer();
    return {
      send: (messages: readonly OutboundMessage[]) =>
        producer.send(messages.map((m) => ({ ...m, topic: this.physical(m.topic) }))),
      disconnect: () => producer.disconnect(),
    };
  }

  async createConsumer(options: ConsumerOptions): Promise<MessageConsumer> {
    const consumer = await this.inner.createConsumer({
      ...options,
      groupId: this.physical(options.groupId),
      topics: options.topics.map((t) => this.physical(t)),
    });
    return {
      run: (handler) => consumer.run((message, context) => handler({ ...message, topic: this.logical(message.topic) }, context)),
      runBatches: (handler, maxMessages) =>
        consumer.runBatches((messages, context) => handler(messages.map((message) => ({ ...message, topic: this.logical(message.topic) })), context), maxMessages),
      stop: () => consumer.stop(),
    };
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(topics.map((t) => ({ ...t, name: this.physical(t.name) })));
  }

  /** Only the topics under the prefix, by their logical names. */
  async listTopics(): Promise<string[]> {
    return (await this.inner.listTopics()).filter((t) => t.startsWith(this.prefix)).map((t) => this.logical(t));
  }

  async topicOffsets(topics: readonly string[]): Promise<TopicOffsets[]> {
    const offsets = await this.inner.topicOffsets(topics.map((t) => this.physical(t)));
    return offsets.map((t) => ({ ...t, topic: this.logical(t.topic) }));
  }

  offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: string }[]> {
    return this.inner.offsetsAtTime(this.physical(topic), timestampMs);
  }

  async listConsumerGroups(): Promise<ConsumerGroupInfo[]> {
    return (await this.inner.listConsumerGroups())
      .filter((g) => g.groupId.startsWith(this.prefix))
      .map((g) => ({ ...g, groupId: this.logical(g.groupId) }));
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    return (await this.inner.committedOffsets(this.physical(groupId)))
      .filter((o) => o.topic.startsWith(this.prefix))
      .map((o) => ({ ...o, topic: this.logical(o.topic) }));
  }

  readMessages(
    ranges: readonly ReadRange[],
    handler: (message: InboundMessage) => Promise<void>,
    options?: ReadOptions,
  ): Promise<void> {
    return this.inner.readMessages(
      ranges.map((r) => ({ ...r, topic: this.physical(r.topic) })),
      (message) => handler({ ...message, topic: this.logical(message.topic) }),
      options,
    );
  }

  ping(timeoutMs: number): Promise<void> {
    return this.inner.ping(timeoutMs);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
