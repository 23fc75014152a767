import { allTopics, ConsumedTopics, deadLetterTopicOf, Topics } from './topics';

describe('topics', () => {
  it('versions every topic name', () => {
    for (const topic of Object.values(Topics)) {
      expect(topic).toMatch(/^[a-z]+\.(commands|events)\.v\d+$/);
    }
  });

  it('gives each consumed topic its own dead-letter topic', () => {
    expect(deadLetterTopicOf(Topics.paymentCommands)).toBe('payments.commands.v1.dlq');
    const dlqs = ConsumedTopics.map(deadLetterTopicOf);
    expect(new Set(dlqs).size).toBe(ConsumedTopics.length);
  });

  it('lists every topic once', () => {
    const topics = allTopics();
    expect(new Set(topics).size).toBe(topics.length);
    expect(topics).toContain('voids.events.v1.dlq');
  });
});
