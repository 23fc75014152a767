/**
 * Void service benchmark: how fast it takes in clearing's pos.clearing.payment.cleared events, one
 * per payment of a closed batch (a million for the largest batch), through real Kafka and
 * PostgreSQL. The events are produced up front across 6 partitions; the clock runs from the
 * service's start of consuming until every payment is in its cleared_payments table. The service
 * runs as its own process from its production bundle (build it first).
 *
 *   npx nx run-many -t build -p void-service && \
 *     TESTCONTAINERS_RYUK_DISABLED=true TS_NODE_PROJECT=tsconfig.integration.json \
 *     npx ts-node --transpile-only -r tsconfig-paths/register tools/bench/void-cleared-intake.ts [events]
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ServiceSources, Topics } from '@pos/contracts';
import { encodeEnvelope, KafkajsBroker, NamespacedBroker } from '@pos/messaging';
import { spawnService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, startTestStack, uniqueName } from '@pos/testing';
import { cpuByPart, describeCpu } from './process-cpu';

const EVENTS = Math.min(Number(process.argv[2] ?? 200_000), 2_000_000);
const MERCHANTS = Array.from({ length: 60 }, (_, i) => `BENCH-M${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  const running = await startTestStack();
  const schema = uniqueName('void_intake');
  const prefix = `${schema}.`;
  const broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(running.stack, schema)), prefix);
  const db = new Client({ connectionString: running.stack.postgresUrl });
  await db.connect();
  try {
    await broker.ensureTopics([{ name: Topics.clearingEvents, partitions: 6 }]);
    const producer = await broker.createProducer();
    const clearedAt = new Date().toISOString();
    const produceStart = performance.now();
    for (let start = 0; start < EVENTS; start += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, EVENTS - start) }, (_, i) => {
        const merchantId = MERCHANTS[(start + i) % MERCHANTS.length];
        return encodeEnvelope(Topics.clearingEvents, {
          id: randomUUID(),
          type: 'pos.clearing.payment.cleared',
          source: ServiceSources.clearing,
          time: clearedAt,
          schemaVersion: 1,
          key: merchantId,
          data: { paymentId: randomUUID(), merchantId, batchId: `${merchantId}:WECHAT:bench`, amountFen: 1 + ((start + i) % 100_000), clearedAt },
        });
      });
      await producer.send(batch);
    }
    await producer.disconnect();
    console.log(`${EVENTS} payment.cleared events produced in ${((performance.now() - produceStart) / 1000).toFixed(1)} s`);

    const consumeStart = performance.now();
    const service = await spawnService('void-service', {
      ...(await stackEnv(running.stack, schema, prefix)),
      KAFKA_CLIENT_ID: schema,
      KAFKA_TOPIC_PARTITIONS: '6',
      LOG_LEVEL: 'warn',
    });
    const partsAtStart = cpuByPart({ 'void service': service.pid });
    try {
      const count = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".cleared_payments`)).rows[0].n;
      const deadline = Date.now() + 900_000;
      let n = 0;
      while ((n = await count()) < EVENTS) {
        if (Date.now() > deadline) throw new Error(`only ${n} of ${EVENTS} cleared payments recorded after 15 min`);
        await sleep(250);
      }
      const seconds = (performance.now() - consumeStart) / 1000;
      console.log(
        `intake: ${EVENTS} payment.cleared events recorded ${seconds.toFixed(1)} s after the service started = ${Math.round(EVENTS / seconds)} events/s (boot included)`,
      );
      const partsAtEnd = cpuByPart({ 'void service': service.pid });
      if (partsAtStart && partsAtEnd) console.log(`  CPU by process, % of one core: ${describeCpu(partsAtStart, partsAtEnd, seconds)}`);
    } finally {
      await service.stop();
    }
  } finally {
    await db.end();
    await broker.close();
    await running.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
