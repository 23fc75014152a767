import { KafkaGrant, kafkaGrants, KafkaPrincipal, KafkaPrincipals } from './kafka-acls';
import { allTopics, Topics } from './topics';

const grants = kafkaGrants();
const topicsWith = (principal: KafkaPrincipal, operation: KafkaGrant['operation']) =>
  grants
    .filter((g) => g.principal === principal && g.resource === 'topic' && g.operation === operation)
    .map((g) => g.name)
    .sort();

describe('Kafka ACLs: who may write and read what', () => {
  it('lets each service write only its own events and the dead-letter topics of what it consumes', () => {
    expect(topicsWith(KafkaPrincipals.payment, 'write')).toEqual(['clearing.events.v1.dlq', 'payments.commands.v1.dlq', 'payments.events.v1', 'voids.events.v1.dlq']);
    expect(topicsWith(KafkaPrincipals.clearing, 'write')).toEqual(['clearing.commands.v1.dlq', 'clearing.events.v1', 'payments.events.v1.dlq', 'voids.events.v1.dlq']);
    expect(topicsWith(KafkaPrincipals.void, 'write')).toEqual(['clearing.events.v1.dlq', 'payments.events.v1.dlq', 'voids.commands.v1.dlq', 'voids.events.v1', 'voids.events.v1.dlq']);
  });

  it('lets each service read only what it consumes, in groups named after it', () => {
    expect(topicsWith(KafkaPrincipals.void, 'read')).toEqual([Topics.clearingEvents, Topics.paymentEvents, Topics.voidCommands, Topics.voidEvents].sort());
    expect(grants.filter((g) => g.principal === KafkaPrincipals.void && g.resource === 'group')).toEqual([
      { principal: 'void-service', resource: 'group', name: 'void-service.', pattern: 'prefixed', operation: 'read' },
    ]);
  });

  it('lets upstream systems write the command topics only, and read nothing', () => {
    expect(topicsWith(KafkaPrincipals.upstream, 'write')).toEqual([Topics.clearingCommands, Topics.paymentCommands, Topics.voidCommands].sort());
    expect(grants.filter((g) => g.principal === KafkaPrincipals.upstream && g.operation !== 'write')).toEqual([]);
  });

  it('lets operators read everything and write nothing; only the replayer writes back to source topics', () => {
    expect(topicsWith(KafkaPrincipals.operator, 'read')).toEqual(['*']);
    expect(topicsWith(KafkaPrincipals.operator, 'write')).toEqual([]);
    expect(topicsWith(KafkaPrincipals.replayer, 'write')).toEqual(Object.values(Topics).sort());
  });

  it('names only topics that exist, and grants nothing to the admin, a super user', () => {
    const known = new Set([...allTopics(), '*']);
    expect(grants.filter((g) => g.resource === 'topic' && !known.has(g.name))).toEqual([]);
    expect(grants.filter((g) => g.principal === KafkaPrincipals.admin)).toEqual([]);
  });
});
