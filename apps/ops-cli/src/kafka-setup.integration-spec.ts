import { Kafka, logLevel } from 'kafkajs';
import { allTopics, KafkaPrincipals } from '@pos/contracts';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { kafkaSetupCommand } from './app/commands/kafka';

/**
 * `ops kafka setup`, as the compose stack's kafka-setup service runs it: as the admin, the
 * contracts' topics (production names, as the broker's ACLs name them) and the ACLs; again, nothing new.
 */
describe('ops kafka setup on the test broker (SASL_SSL, ACLs)', () => {
  const stack = testStack();

  it('leaves every topic of the contracts in place, and creates none a second time', async () => {
    const connection = kafkaClientOf(stack, uniqueName('kafka-setup'), KafkaPrincipals.admin);
    const first = await kafkaSetupCommand(connection, '1');
    expect(first.grants).toBeGreaterThan(0);
    const { tls, ...client } = kafkaClientOf(stack, uniqueName('kafka-setup-check'));
    const admin = new Kafka({ ...client, ssl: tls, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = new Set(await admin.listTopics());
      expect(allTopics().filter((topic) => !topics.has(topic))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    expect((await kafkaSetupCommand(connection, '1')).createdTopics).toEqual([]);
  });

  it('is refused to a principal that is not the admin', async () => {
    const connection = kafkaClientOf(stack, uniqueName('kafka-setup'), KafkaPrincipals.operator);
    await expect(kafkaSetupCommand(connection, '1')).rejects.toThrow(/AUTHORIZATION|authoriz/i);
  });
});
