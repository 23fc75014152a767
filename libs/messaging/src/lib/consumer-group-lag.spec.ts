import { BrokerAdmin, CommittedOffset, TopicOffsets } from './broker.port';
import { ConsumerGroupLag } from './messaging-metrics';

/** The two reads the lag is computed from; the rest of the admin port is not used by it. */
function adminWith(ends: TopicOffsets[], committed: Record<string, CommittedOffset[]>): BrokerAdmin {
  const unused = () => Promise.reject(new Error('not used by the lag'));
  return {
    topicOffsets: async (topics) => ends.filter((t) => topics.includes(t.topic)),
    committedOffsets: async (groupId) => committed[groupId] ?? [],
    listTopics: unused,
    offsetsAtTime: unused,
    listConsumerGroups: unused,
    readMessages: unused,
  };
}

describe('ConsumerGroupLag', () => {
  const ends: TopicOffsets[] = [
    { topic: 'payments.events.v1', partitions: [{ partition: 0, low: '0', high: '10' }, { partition: 1, low: '4', high: '9' }] },
    { topic: 'voids.events.v1', partitions: [{ partition: 0, low: '0', high: '3' }] },
  ];

  it('is the end offset minus the committed offset, per partition of every watched group', async () => {
    const lag = new ConsumerGroupLag(
      adminWith(ends, {
        'clearing.payments': [
          { topic: 'payments.events.v1', partition: 0, offset: '10' },
          { topic: 'payments.events.v1', partition: 1, offset: '6' },
        ],
        'clearing.voids': [{ topic: 'voids.events.v1', partition: 0, offset: '1' }],
      }),
    );
    lag.watch('clearing.payments', ['payments.events.v1']);
    lag.watch('clearing.voids', ['voids.events.v1']);
    expect(await lag.read()).toEqual([
      { group: 'clearing.payments', topic: 'payments.events.v1', partition: 0, lag: 0 },
      { group: 'clearing.payments', topic: 'payments.events.v1', partition: 1, lag: 3 },
      { group: 'clearing.voids', topic: 'voids.events.v1', partition: 0, lag: 2 },
    ]);
  });

  it('counts a partition the group never committed on from its first offset (the group reads from the earliest)', async () => {
    const lag = new ConsumerGroupLag(adminWith(ends, { fresh: [{ topic: 'payments.events.v1', partition: 0, offset: '-1' }] }));
    lag.watch('fresh', ['payments.events.v1']);
    expect(await lag.read()).toEqual([
      { group: 'fresh', topic: 'payments.events.v1', partition: 0, lag: 10 },
      { group: 'fresh', topic: 'payments.events.v1', partition: 1, lag: 5 },
    ]);
  });

  it('reads nothing before a group is watched', async () => {
    expect(await new ConsumerGroupLag(adminWith(ends, {})).read()).toEqual([]);
  });
});
