import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, KafkaConfig, logLevel } from 'kafkajs';
import { GenericContainer, StartedTestContainer, Wait } from 'testcontainers';
import { KafkaPrincipal, KafkaPrincipals } from '@pos/contracts';
import { grantAcls, KAFKA_SASL_MECHANISM, KafkaCredentials } from '@pos/kafka-security';
import { answers, containerAddress } from './direct-address';

const CLIENT_PORT = 9092;
/** Listener advertised with the container's own address, for hosts that reach it (see direct-address). */
const DIRECT_PORT = 9095;
/**
 * TLS with client certificates, for librdkafka clients before 2.6.1 (Debian 12's kcat), whose
 * SCRAM a Kafka 4 broker refuses (their client-final nonce is malformed).
 */
const MTLS_PORT = 9096;
/** PLAINTEXT listeners, published and direct, only on a broker started for measuring what SASL_SSL costs. */
const PLAIN_PORT = 9097;
const PLAIN_DIRECT_PORT = 9098;
const TRUST_STORE = '/tmp/kafka-tls/ca.pem';
const START_ENV = '/tmp/kafka-start.env';
/** Copied after the env file, in the same archive: the env file is complete once this exists. */
const START_READY = '/tmp/kafka-start.ready';
const WAITING = 'waiting for the advertised listener';
/** The start script of the apache/kafka image; the locally built image has it at the same place. */
const START_COMMAND = '/etc/kafka/docker/run';
const LOG_DIRS = '/tmp/kraft-combined-logs';
const KEY_STORE = '/tmp/kafka-tls/broker.pem';
const SCRAM_ARGUMENTS = '/tmp/kafka-scram.args';
/**
 * Formats the storage with the principals' SCRAM credentials before the image's start script runs
 * (its own format then finds the storage formatted and leaves it). Only what formatting reads.
 */
const FORMAT_PROPERTIES = [
  'process.roles=broker,controller',
  'node.id=1',
  'controller.quorum.voters=1@127.0.0.1:9094',
  'controller.listener.names=CONTROLLER',
  'listeners=BROKER://127.0.0.1:9093,CONTROLLER://127.0.0.1:9094',
  'listener.security.protocol.map=BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
  'inter.broker.listener.name=BROKER',
  `log.dirs=${LOG_DIRS}`,
].join('\\n');
const SCRAM_LOGIN = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';

/** How clients reach and authenticate to a test broker: what a service's KAFKA_* settings name. */
export interface KafkaAccess {
  readonly kafkaBrokers: string[];
  /** PEM file of the CA that signed the broker's certificate (KAFKA_SSL_CA). */
  readonly kafkaCaFile: string;
  /** The SCRAM-SHA-512 password of each principal (libs/contracts KafkaPrincipals), made for this broker. */
  readonly kafkaPasswords: Readonly<Record<KafkaPrincipal, string>>;
  /** The listener that takes a client certificate instead of SCRAM, and the admin's certificate (PEM files). */
  readonly kafkaMtls: { readonly brokers: string[]; readonly adminKeyFile: string; readonly adminCertFile: string };
  /**
   * `plaintext`: kafkaBrokers are a PLAINTEXT listener, whose clients are ANONYMOUS, a super user
   * (benchmarks comparing with SASL_SSL only: startKafka's `plaintext` option); absent: SASL_SSL.
   */
  readonly kafkaSecurity?: 'plaintext';
}

/** How a broker for tests and benchmarks is started. */
export interface KafkaOptions {
  /**
   * Also a PLAINTEXT listener without authentication or ACLs, which clients then use: only to
   * measure what TLS and SASL cost (the benchmarks' BENCH_KAFKA_SECURITY=plaintext).
   */
  readonly plaintext?: boolean;
}

export interface StartedKafka {
  readonly brokers: string[];
  readonly access: KafkaAccess;
  readonly container: StartedTestContainer;
  stop(): Promise<void>;
}

/** A kafkajs-style connection (the broker port's BrokerConnection) as `principal`; tests run as the admin. */
export function kafkaClientOf(access: KafkaAccess, clientId: string, principal: KafkaPrincipal = KafkaPrincipals.admin) {
  if (access.kafkaSecurity === 'plaintext') return { clientId, brokers: access.kafkaBrokers };
  return {
    clientId,
    brokers: access.kafkaBrokers,
    ssl: true,
    tls: { ca: readFileSync(access.kafkaCaFile, 'utf8') },
    sasl: { mechanism: KAFKA_SASL_MECHANISM, username: principal, password: access.kafkaPasswords[principal] },
  };
}

/** A service's KAFKA_* variables for the broker, as `principal`. */
export function kafkaEnvOf(access: KafkaAccess, principal: KafkaPrincipal = KafkaPrincipals.admin): Record<string, string> {
  if (access.kafkaSecurity === 'plaintext') return { KAFKA_BROKERS: access.kafkaBrokers.join(',') };
  return {
    KAFKA_BROKERS: access.kafkaBrokers.join(','),
    KAFKA_SSL_CA: access.kafkaCaFile,
    KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM,
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD: access.kafkaPasswords[principal],
  };
}

/**
 * Added to the image's broker JVM options: the JIT stops at its first tier (C1). A test broker
 * lives for minutes on a machine it shares with the whole stack: the optimising compiler (C2) was
 * still compiling in bursts after a 3,000-void warm-up, half of the broker's CPU over the void
 * benchmark's measured phase, taking a whole core for half a second at a time; with C1 alone the
 * broker used half the CPU over that phase (docs/performance.md). Its raw throughput (14,700
 * events/s in the payment bench on a slow day) is far above what tests and benches send.
 */
const JIT_FIRST_TIER_ONLY = '-XX:TieredStopAtLevel=1';

/**
 * A single-node KRaft broker as a deployment runs it: clients connect only over SASL_SSL with
 * SCRAM-SHA-512, and KRaft's StandardAuthorizer allows what libs/contracts' kafkaGrants grant
 * (the admin, which tests use, is a super user). The broker's own listeners (inter-broker and
 * controller) are plaintext on the container's loopback only. Clients outside Docker must be told
 * the host's mapped port, which is only known once the container runs: the container waits for a
 * file with the advertised listener and the broker's key store, copied in after start.
 */
export async function startKafka(image: string, labels: Record<string, string> = {}, options: KafkaOptions = {}): Promise<StartedKafka> {
  const plain = options.plaintext === true;
  // This run's secrets only: made in a temporary directory, removed with the broker.
  const secretsDir = await mkdtemp(join(tmpdir(), 'pos-kafka-'));
  const removeSecrets = () => rm(secretsDir, { recursive: true, force: true });
  const secrets = await KafkaCredentials.create(secretsDir, { days: 7, caName: 'pos test Kafka CA' }).catch(async (error: unknown) => {
    await removeSecrets();
    throw error;
  });
  const container = await new GenericContainer(image)
    .withExposedPorts(CLIENT_PORT, MTLS_PORT, ...(plain ? [PLAIN_PORT] : []))
    .withLabels(labels)
    .withEnvironment({
      CLUSTER_ID: randomBytes(16).toString('base64url'),
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `CLIENT://0.0.0.0:${CLIENT_PORT},BROKER://127.0.0.1:9093,CONTROLLER://127.0.0.1:9094,DIRECT://0.0.0.0:${DIRECT_PORT},MTLS://0.0.0.0:${MTLS_PORT}${plain ? `,PLAIN://0.0.0.0:${PLAIN_PORT},PLAIN_DIRECT://0.0.0.0:${PLAIN_DIRECT_PORT}` : ''}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: `CLIENT:SASL_SSL,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT,DIRECT:SASL_SSL,MTLS:SSL${plain ? ',PLAIN:PLAINTEXT,PLAIN_DIRECT:PLAINTEXT' : ''}`,
      KAFKA_LISTENER_NAME_MTLS_SSL_CLIENT_AUTH: 'required',
      KAFKA_SSL_TRUSTSTORE_TYPE: 'PEM',
      KAFKA_SSL_TRUSTSTORE_LOCATION: TRUST_STORE,
      // CN=<name> is User:<name>, the principal a SCRAM user of that name has.
      KAFKA_SSL_PRINCIPAL_MAPPING_RULES: 'RULE:^CN=([^,]+)$/$1/,DEFAULT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9094',
      KAFKA_LOG_DIRS: LOG_DIRS,
      KAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512',
      KAFKA_LISTENER_NAME_CLIENT_SCRAM___SHA___512_SASL_JAAS_CONFIG: SCRAM_LOGIN,
      KAFKA_LISTENER_NAME_DIRECT_SCRAM___SHA___512_SASL_JAAS_CONFIG: SCRAM_LOGIN,
      KAFKA_SSL_KEYSTORE_TYPE: 'PEM',
      KAFKA_SSL_KEYSTORE_LOCATION: KEY_STORE,
      KAFKA_AUTHORIZER_CLASS_NAME: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The loopback listeners' connections (the broker's own) are ANONYMOUS.
      KAFKA_SUPER_USERS: `User:${KafkaPrincipals.admin};User:ANONYMOUS`,
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_HEAP_OPTS: '-Xmx512m -Xms512m',
      // Appended after the image's performance options, so the image keeps its other defaults.
      KAFKA_OPTS: JIT_FIRST_TIER_ONLY,
    })
    .withEntrypoint(['sh', '-c'])
    .withCommand([
      [
        `echo '${WAITING}'; while [ ! -f ${START_READY} ]; do sleep 0.1; done; set -a; . ${START_ENV}; set +a`,
        `printf '${FORMAT_PROPERTIES}\\n' > /tmp/kafka-format.properties`,
        `set -f; /opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c /tmp/kafka-format.properties $(cat ${SCRAM_ARGUMENTS}) >/tmp/kafka-format.log 2>&1 || { cat /tmp/kafka-format.log; exit 1; }`,
        `exec ${START_COMMAND}`,
      ].join('; '),
    ])
    .withWaitStrategy(Wait.forLogMessage(WAITING))
    .start();

  try {
    const published = `${container.getHost()}:${container.getMappedPort(CLIENT_PORT)}`;
    // Without an address of its own, the DIRECT listener is advertised but never used.
    const direct = containerAddress(container);
    const keyStore = await secrets.brokerKeyStore(['localhost', '127.0.0.1', container.getHost(), ...(direct ? [direct] : [])]);
    // Through the published port: it works wherever Docker runs (one listener, one advertised address).
    const mtls = `${container.getHost()}:${container.getMappedPort(MTLS_PORT)}`;
    const adminCertificate = await secrets.clientCertificate(KafkaPrincipals.admin);
    const plainPublished = plain ? `${container.getHost()}:${container.getMappedPort(PLAIN_PORT)}` : undefined;
    const plainListeners = plain ? `,PLAIN://${plainPublished},PLAIN_DIRECT://${direct ?? 'localhost'}:${PLAIN_DIRECT_PORT}` : '';
    await container.copyContentToContainer([
      {
        content: `KAFKA_ADVERTISED_LISTENERS=CLIENT://${published},BROKER://127.0.0.1:9093,DIRECT://${direct ?? 'localhost'}:${DIRECT_PORT},MTLS://${mtls}${plainListeners}\n`,
        target: START_ENV,
      },
      // Readable by the broker's user: test-only secrets of this run.
      { content: keyStore, target: KEY_STORE, mode: 0o644 },
      { content: await readFile(secrets.caFile, 'utf8'), target: TRUST_STORE, mode: 0o644 },
      { content: `${secrets.scramFormatArguments().join('\n')}\n`, target: SCRAM_ARGUMENTS, mode: 0o644 },
      { content: 'ready\n', target: START_READY },
    ]);
    await waitForReadyLine(container);
    const reachedDirectly = direct !== undefined && (await answers(direct, DIRECT_PORT));
    const brokers = [reachedDirectly ? `${direct}:${DIRECT_PORT}` : published];
    const plainBrokers = [reachedDirectly ? `${direct}:${PLAIN_DIRECT_PORT}` : (plainPublished ?? published)];
    const access: KafkaAccess = {
      kafkaBrokers: plain ? plainBrokers : brokers,
      ...(plain ? { kafkaSecurity: 'plaintext' as const } : {}),
      kafkaCaFile: secrets.caFile,
      kafkaPasswords: secrets.passwords,
      kafkaMtls: { brokers: [mtls], adminKeyFile: adminCertificate.keyFile, adminCertFile: adminCertificate.certFile },
    };
    const { tls, ...client } = { tls: undefined, ...kafkaClientOf(access, 'testing-warm-up') };
    await warmUp({ ...client, ...(tls ? { ssl: tls } : {}) });
    return {
      brokers,
      access,
      container,
      stop: async () => {
        await container.stop();
        await removeSecrets();
      },
    };
  } catch (error) {
    await container.stop().catch(() => undefined);
    await removeSecrets();
    throw error;
  }
}

/** Both the apache/kafka image and the local one log this once the broker serves clients. */
const READY_LINE = /Kafka Server started/;

async function waitForReadyLine(container: StartedTestContainer, timeoutMs = 180_000): Promise<void> {
  const logs = await container.logs();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Kafka did not log "${READY_LINE.source}" within ${timeoutMs} ms`)), timeoutMs);
      logs.on('data', (line: Buffer | string) => {
        if (READY_LINE.test(line.toString())) {
          clearTimeout(timer);
          resolve();
        }
      });
      logs.on('end', () => {
        clearTimeout(timer);
        reject(new Error('Kafka exited before it was ready'));
      });
    });
  } finally {
    logs.destroy();
  }
}

/**
 * Grants the ACLs. A fresh broker creates its group coordinator's topic on the first group join
 * and answers "coordinator loading" until then; one throwaway join here keeps that out of every test. (Test
 * infrastructure talks to kafkajs directly: it must not depend on the libraries it tests.)
 */
async function warmUp(connection: KafkaConfig, timeoutMs = 90_000): Promise<void> {
  const kafka = new Kafka({ ...connection, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await grantAcls(admin);
    await admin.createTopics({ topics: [{ topic: 'testing.warm-up', numPartitions: 1 }], waitForLeaders: false });
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: 'testing.warm-up' });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: ['testing.warm-up'], fromBeginning: true });
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Kafka: no consumer group could join within the warm-up')), timeoutMs);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await consumer.run({ eachMessage: async () => undefined });
    await joined;
  } finally {
    await consumer.disconnect();
  }
}
