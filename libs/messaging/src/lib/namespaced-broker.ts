import {
  ConsumerOptions,
  MessageBroker,
  MessageConsumer,
  MessageProducer,
  OutboundMessage,
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
      stop: () => consumer.stop(),
    };
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(topics.map((t) => ({ ...t, name: this.physical(t.name) })));
  }

  ping(timeoutMs: number): Promise<void> {
    return this.inner.ping(timeoutMs);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
