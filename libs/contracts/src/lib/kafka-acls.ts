import { ServiceSource, ServiceSources, TopicProducers, UPSTREAM } from './sources';
import { deadLetterTopicOf, TopicName, Topics } from './topics';

/**
 * The Kafka principals (`User:<name>`, SASL/SCRAM user names) of a deployment: one per service,
 * one for the upstream systems that send commands, operators who read, a separate one for
 * dead-letter replays, and the administrator who creates topics and grants the rest.
 */
export const KafkaPrincipals = {
  payment: 'payment-service',
  clearing: 'clearing-service',
  void: 'void-service',
  upstream: 'upstream',
  operator: 'operator',
  replayer: 'replayer',
  admin: 'admin',
} as const;
export type KafkaPrincipal = (typeof KafkaPrincipals)[keyof typeof KafkaPrincipals];

type ServiceName = keyof typeof ServiceSources;

/** The topics each service consumes (its consumer groups are named `<principal>.<purpose>`). */
export const TopicConsumers: Readonly<Record<TopicName, readonly ServiceName[]>> = {
  [Topics.paymentCommands]: ['payment'],
  [Topics.paymentEvents]: ['clearing', 'void'],
  [Topics.clearingCommands]: ['clearing'],
  [Topics.clearingEvents]: ['payment', 'void'],
  [Topics.voidCommands]: ['void'],
  // The void service reads its own events for merchants' webhooks (group void-service.webhooks).
  [Topics.voidEvents]: ['payment', 'clearing', 'void'],
};

/** One Kafka ACL that allows: the principal may do the operation on the named resource(s). */
export interface KafkaGrant {
  readonly principal: KafkaPrincipal;
  readonly resource: 'topic' | 'group';
  /** With `prefixed`, every name that starts with it; `*` with `literal`, every name. */
  readonly name: string;
  readonly pattern: 'literal' | 'prefixed';
  /** READ and WRITE imply DESCRIBE; WRITE on a topic also lets an idempotent producer start. */
  readonly operation: 'read' | 'write' | 'describe';
}

const topicNames = Object.values(Topics);
const serviceOf = (source: ServiceSource): ServiceName =>
  (Object.keys(ServiceSources) as ServiceName[]).find((name) => ServiceSources[name] === source) as ServiceName;

/**
 * Least privilege on the broker (with an authorizer that denies what no ACL allows; the admin is
 * a super user): a service writes only its own events and the dead-letter topics of what it
 * consumes, reads only what it consumes, in its own consumer groups; upstream systems write only
 * the command topics; operators read every topic and describe every group, and write nothing; the
 * replayer reads as operators do and writes the source topics of dead letters (a replay copies a message back
 * with its original `ce_source`, so whoever replays can send what a service sends: its
 * credentials are handed out for a replay only, see docs/operations.md).
 */
export function kafkaGrants(): KafkaGrant[] {
  const grants: KafkaGrant[] = [];
  const topic = (principal: KafkaPrincipal, name: string, operation: KafkaGrant['operation']) =>
    grants.push({ principal, resource: 'topic', name, pattern: 'literal', operation });
  for (const name of topicNames) {
    const producer = TopicProducers[name];
    topic(producer === UPSTREAM ? KafkaPrincipals.upstream : KafkaPrincipals[serviceOf(producer)], name, 'write');
    for (const service of TopicConsumers[name]) {
      topic(KafkaPrincipals[service], name, 'read');
      topic(KafkaPrincipals[service], deadLetterTopicOf(name), 'write');
    }
    topic(KafkaPrincipals.replayer, name, 'write');
  }
  for (const service of Object.keys(ServiceSources) as ServiceName[]) {
    grants.push({ principal: KafkaPrincipals[service], resource: 'group', name: `${KafkaPrincipals[service]}.`, pattern: 'prefixed', operation: 'read' });
  }
  for (const principal of [KafkaPrincipals.operator, KafkaPrincipals.replayer]) {
    grants.push(
      { principal, resource: 'topic', name: '*', pattern: 'literal', operation: 'read' },
      { principal, resource: 'group', name: '*', pattern: 'literal', operation: 'describe' },
      // The CLI reads through throwaway groups `pos-reader-…`.
      { principal, resource: 'group', name: 'pos-reader-', pattern: 'prefixed', operation: 'read' },
    );
  }
  return grants;
}
