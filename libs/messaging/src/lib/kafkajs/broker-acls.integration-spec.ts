import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, logLevel } from 'kafkajs';
import { allTopics, KafkaPrincipal, KafkaPrincipals, ServiceSources, Topics, VoidAccepted } from '@pos/contracts';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { MessageBroker, MessageConsumer, OutboundMessage } from '../broker.port';
import { encodeEnvelope } from '../envelope-codec';
import { KafkajsBroker } from './kafkajs-broker';

/**
 * The test stack's broker as a deployment runs it: SASL_SSL with SCRAM-SHA-512 only, and ACLs
 * (libs/contracts kafkaGrants) on the production topic names. What the consumers' checks cannot
 * stop, a principal writing another's topic with that owner's `ce_source`, the broker refuses.
 */

const voidAccepted: VoidAccepted = {
  voidId: '00000000-0000-4000-8000-000000000001',
  idempotencyKey: 'forged-1',
  merchantId: 'M041',
  terminalId: 'T1',
  decidedAt: '2026-12-04T10:00:00+08:00',
  paymentId: '00000000-0000-4000-8000-000000000002',
  outTradeNo: 'ORDER-1',
  channel: 'WECHAT',
  amountFen: 1999,
  batchId: 'M041:WECHAT:2026-12-04',
};

/** A pos.void.accepted exactly as the void service writes it: only the principal can tell a forgery. */
const forgedVoid: OutboundMessage = encodeEnvelope(Topics.voidEvents, {
  id: 'forged-void-1',
  type: 'pos.void.accepted',
  source: ServiceSources.void,
  time: '2026-12-04T10:00:00+08:00',
  schemaVersion: 1,
  key: voidAccepted.merchantId,
  data: voidAccepted,
});

/** The broker's error types along an error's causes (kafkajs wraps the protocol error). */
function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const type = (cause as { type?: unknown }).type;
    types.push(typeof type === 'string' ? type : cause.name);
  }
  return types;
}

describe('the test broker: SCRAM over TLS, and ACLs per principal', () => {
  const stack = testStack();
  const brokers: MessageBroker[] = [];
  const as = (principal: KafkaPrincipal): MessageBroker => {
    const broker = new KafkajsBroker(kafkaClientOf(stack, uniqueName(principal), principal));
    brokers.push(broker);
    return broker;
  };

  /** Sends with a fresh producer of `principal`; resolves to the broker's refusal, or 'written'. */
  async function write(principal: KafkaPrincipal, message: OutboundMessage): Promise<string> {
    const broker = as(principal);
    try {
      const producer = await broker.createProducer();
      try {
        await producer.send([message]);
        return 'written';
      } finally {
        await producer.disconnect();
      }
    } catch (error) {
      return errorTypes(error).find((type) => type.endsWith('AUTHORIZATION_FAILED')) ?? `unexpected: ${errorTypes(error).join(' < ')}`;
    }
  }

  /** A client without retries, so that a refused connection answers at once. */
  async function connectRaw(config: Omit<KafkaConfig, 'brokers' | 'clientId' | 'logLevel' | 'retry'>, brokers = stack.kafkaBrokers): Promise<string> {
    const admin = new Kafka({ clientId: uniqueName('raw'), brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 5_000, ...config }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return 'connected';
    } catch (error) {
      return (error as Error).name;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  beforeAll(async () => {
    // The production topic names (other tests use prefixed ones), created by the admin as in a deployment.
    await as(KafkaPrincipals.admin).ensureTopics(allTopics().map((name) => ({ name, partitions: 1 })));
  });

  afterAll(async () => {
    for (const broker of brokers) await broker.close();
  });

  it('refuses a forged pos.void.accepted from the upstream principal: only the void service writes voids.events.v1', async () => {
    expect(await write(KafkaPrincipals.upstream, forgedVoid)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await write(KafkaPrincipals.payment, forgedVoid)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await write(KafkaPrincipals.void, forgedVoid)).toBe('written');
  });

  it('lets upstream systems write commands, and each service only its own events and dead letters', async () => {
    const to = (topic: string): OutboundMessage => ({ ...forgedVoid, topic });
    expect(await write(KafkaPrincipals.upstream, to(Topics.voidCommands))).toBe('written');
    expect(await write(KafkaPrincipals.upstream, to(Topics.paymentEvents))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await write(KafkaPrincipals.clearing, to(Topics.clearingEvents))).toBe('written');
    expect(await write(KafkaPrincipals.clearing, to(`${Topics.voidEvents}.dlq`))).toBe('written');
    expect(await write(KafkaPrincipals.clearing, to(Topics.paymentCommands))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await write(KafkaPrincipals.replayer, to(Topics.voidEvents))).toBe('written');
  });

  /** Reads the first message of `topic` in `group` as `principal`; resolves to 'read' or the broker's refusal. */
  async function readFirst(principal: KafkaPrincipal, group: string, topic: string): Promise<string> {
    let consumer: MessageConsumer | undefined;
    try {
      consumer = await as(principal).createConsumer({ groupId: group, topics: [topic], fromBeginning: true });
      let received!: () => void;
      const first = new Promise<void>((resolve) => (received = resolve));
      await consumer.run(async () => received());
      await Promise.race([first, new Promise((_, reject) => setTimeout(() => reject(new Error('no message within 30 s')), 30_000))]);
      return 'read';
    } catch (error) {
      return errorTypes(error).find((type) => type.endsWith('AUTHORIZATION_FAILED')) ?? `unexpected: ${errorTypes(error).join(' < ')}`;
    } finally {
      await consumer?.stop().catch(() => undefined);
    }
  }

  it("lets the void service read its own events for merchants' webhooks, and no topic it does not consume", async () => {
    // After the first test wrote to voids.events.v1.
    expect(await readFirst(KafkaPrincipals.void, `${KafkaPrincipals.void}.webhooks`, Topics.voidEvents)).toBe('read');
    expect(await readFirst(KafkaPrincipals.void, `${KafkaPrincipals.void}.probe`, Topics.paymentCommands)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('lets operators read every topic and write none', async () => {
    const [offsets] = await as(KafkaPrincipals.operator).topicOffsets([Topics.voidEvents]);
    expect(offsets.partitions.reduce((n, p) => n + Number(p.high), 0)).toBeGreaterThan(0);
    expect(await write(KafkaPrincipals.operator, forgedVoid)).toMatch(/^(TOPIC|CLUSTER)_AUTHORIZATION_FAILED$/);
  });

  it('lets no client in without SASL, with a wrong password, or without TLS', async () => {
    const ca = readFileSync(stack.kafkaCaFile, 'utf8');
    const admin = { username: KafkaPrincipals.admin, password: stack.kafkaPasswords.admin };
    expect(await connectRaw({ ssl: { ca } })).not.toBe('connected');
    expect(await connectRaw({ ssl: { ca }, sasl: { mechanism: 'scram-sha-512', ...admin, password: 'wrong' } })).toBe('KafkaJSSASLAuthenticationError');
    expect(await connectRaw({ sasl: { mechanism: 'scram-sha-512', ...admin } })).not.toBe('connected');
    // A certificate from another CA is not trusted: the client refuses the broker.
    expect(await connectRaw({ ssl: true, sasl: { mechanism: 'scram-sha-512', ...admin } })).not.toBe('connected');
    expect(await connectRaw({ ssl: { ca }, sasl: { mechanism: 'scram-sha-512', ...admin } })).toBe('connected');
  });

  it('takes a client certificate instead of SCRAM on its TLS-only listener, and nothing less', async () => {
    const ca = readFileSync(stack.kafkaCaFile, 'utf8');
    const { brokers: mtls, adminKeyFile, adminCertFile } = stack.kafkaMtls;
    const certificate = { key: readFileSync(adminKeyFile, 'utf8'), cert: readFileSync(adminCertFile, 'utf8') };
    expect(await connectRaw({ ssl: { ca } }, mtls)).not.toBe('connected');
    expect(await connectRaw({ ssl: { ca, ...certificate } }, mtls)).toBe('connected');
  });
});
