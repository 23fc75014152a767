import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { InboundMessage } from '../broker.port';
import { KafkajsBroker } from './kafkajs-broker';

describe('KafkajsBroker on a real broker', () => {
  const stack = testStack();
  let broker: KafkajsBroker;

  beforeAll(() => {
    broker = new KafkajsBroker(kafkaClientOf(stack, uniqueName('broker-test')));
  });

  afterAll(async () => {
    await broker.close();
  });

  it('delivers key, headers and value intact to another consumer group', async () => {
    const topic = uniqueName('roundtrip');
    await broker.ensureTopics([{ name: topic, partitions: 3 }]);
    const producer = await broker.createProducer();
    const value = JSON.stringify({ amountFen: 1234, note: '撤销 before 日切' });
    await producer.send([
      { topic, key: 'M1:T1', value, headers: { ce_id: 'evt-1', ce_type: 'pos.test', 'content-type': 'application/json' } },
    ]);
    await producer.disconnect();

    const received: InboundMessage[] = [];
    const consumer = await broker.createConsumer({ groupId: uniqueName('other-group'), topics: [topic] });
    const arrived = new Promise<void>((resolve) => {
      void consumer.run(async (message) => {
        received.push(message);
        resolve();
      });
    });
    await arrived;
    await consumer.stop();

    expect(received).toHaveLength(1);
    expect(received[0].key).toBe('M1:T1');
    expect(received[0].value?.toString('utf8')).toBe(value);
    expect(received[0].headers).toEqual({ ce_id: 'evt-1', ce_type: 'pos.test', 'content-type': 'application/json' });
  });

  it('creates topics idempotently', async () => {
    const topic = uniqueName('twice');
    await broker.ensureTopics([{ name: topic, partitions: 2 }]);
    await expect(broker.ensureTopics([{ name: topic, partitions: 2 }])).resolves.toBeUndefined();
  });
});
