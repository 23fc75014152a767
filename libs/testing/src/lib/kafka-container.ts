import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { GenericContainer, StartedTestContainer, Wait } from 'testcontainers';
import { answers, containerAddress } from './direct-address';

const CLIENT_PORT = 9092;
/** Listener advertised with the container's own address, for hosts that reach it (see direct-address). */
const DIRECT_PORT = 9095;
const START_ENV = '/tmp/kafka-start.env';
/** Copied after the env file, in the same archive: the env file is complete once this exists. */
const START_READY = '/tmp/kafka-start.ready';
const WAITING = 'waiting for the advertised listener';
/** The start script of the apache/kafka image; the locally built image has it at the same place. */
const START_COMMAND = '/etc/kafka/docker/run';

export interface StartedKafka {
  readonly brokers: string[];
  readonly container: StartedTestContainer;
  stop(): Promise<void>;
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
 * A single-node KRaft broker. Clients outside Docker must be told the host's mapped port, which is
 * only known once the container runs: the container waits for a file with the advertised
 * listener, which is copied in after start.
 */
export async function startKafka(image: string, labels: Record<string, string> = {}): Promise<StartedKafka> {
  const container = await new GenericContainer(image)
    .withExposedPorts(CLIENT_PORT)
    .withLabels(labels)
    .withEnvironment({
      CLUSTER_ID: randomBytes(16).toString('base64url'),
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${CLIENT_PORT},BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094,DIRECT://0.0.0.0:${DIRECT_PORT}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT,DIRECT:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9094',
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
      `echo '${WAITING}'; while [ ! -f ${START_READY} ]; do sleep 0.1; done; set -a; . ${START_ENV}; set +a; exec ${START_COMMAND}`,
    ])
    .withWaitStrategy(Wait.forLogMessage(WAITING))
    .start();

  const published = `${container.getHost()}:${container.getMappedPort(CLIENT_PORT)}`;
  // Without an address of its own, the DIRECT listener is advertised but never used.
  const direct = containerAddress(container);
  await container.copyContentToContainer([
    {
      content: `KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://${published},BROKER://localhost:9093,DIRECT://${direct ?? 'localhost'}:${DIRECT_PORT}\n`,
      target: START_ENV,
    },
    { content: 'ready\n', target: START_READY },
  ]);
  await waitForReadyLine(container);
  const brokers = [direct && (await answers(direct, DIRECT_PORT)) ? `${direct}:${DIRECT_PORT}` : published];
  await warmUp(brokers);
  return {
    brokers,
    container,
    stop: async () => {
      await container.stop();
    },
  };
}

/** Both the apache/kafka image and the local one log this once the broker serves clients. */
const READY_LINE = /Kafka Server started/;

async function waitForReadyLine(container: StartedTestContainer, timeoutMs = 90_000): Promise<void> {
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
 * A fresh broker creates its group coordinator's topic on the first group join and answers
 * "coordinator loading" until then; one throwaway join here keeps that out of every test. (Test
 * infrastructure talks to kafkajs directly: it must not depend on the libraries it tests.)
 */
async function warmUp(brokers: string[], timeoutMs = 90_000): Promise<void> {
  const kafka = new Kafka({ clientId: 'testing-warm-up', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'testing.warm-up', numPartitions: 1 }], waitForLeaders: false });
  await admin.disconnect();
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
