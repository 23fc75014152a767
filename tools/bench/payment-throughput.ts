/**
 * Payment service throughput on this machine, next to the raw limits measured in the same run.
 *
 *   npx nx build payment-service && TESTCONTAINERS_RYUK_DISABLED=true TS_NODE_PROJECT=tsconfig.integration.json \
 *     npx ts-node --transpile-only -r tsconfig-paths/register tools/bench/payment-throughput.ts
 *
 * Settings (env): BENCH_PHASE_SECONDS (default 15), BENCH_CONNECTIONS (HTTP, default 32),
 * BENCH_SERVICE_NODE_OPTIONS (NODE_OPTIONS for the service, e.g. --cpu-prof to profile it).
 * Phases, each bounded in time, loopback only:
 *   1. raw PostgreSQL: see 2; then raw Kafka: the same pos.payment.succeeded events produced straight through KafkajsBroker
 *      (idempotent producer, acks=all), in batches like the outbox relay's;
 *   2. raw PostgreSQL: the same payment row and its outbox row inserted in one transaction each
 *      (prepared statements, like the service's);
 *   3. the service, in its own process from its production bundle (build it first): POST /v1/payments
 *      with autocannon (every request a new outTradeNo), then the time until every accepted
 *      payment's event is on payments.events.v1.
 */
import { randomUUID } from 'node:crypto';
import { Topics } from '@pos/contracts';
import { formatShanghai } from '@pos/business-calendar';
import { encodeEnvelope, KafkajsBroker, MessageBroker, messagingMigrations, NamespacedBroker } from '@pos/messaging';
import { createDataSource, queryPrepared, runMigrations } from '@pos/persistence';
import { hashApiKey } from '@pos/service-runtime';
import { spawnService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, startTestStack, TestStack, uniqueName } from '@pos/testing';
import { benchKafkaOptions } from './bench-kafka';
import { CreatePaymentTables1764300000000 } from '../../apps/payment-service/src/app/payment-tables.migration';

// autocannon ships no types; this is the part of its API used here.
interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number; average: number };
  statusCodeStats?: Record<string, { count: number }>;
  non2xx: number;
  errors: number;
  duration: number;
}
type SetupRequest = (request: Record<string, unknown>) => Record<string, unknown>;
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const PHASE_MS = Number(process.env['BENCH_PHASE_SECONDS'] ?? 15) * 1_000;
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const API_KEY = 'bench-key-m100';

let sequence = 0;
function paymentRequest() {
  sequence += 1;
  return {
    merchantId: 'M100',
    terminalId: `T${sequence % 20}`,
    channel: 'WECHAT',
    amountFen: 1 + (sequence % 100_000),
    currency: 'CNY',
    outTradeNo: `B${Date.now().toString(36)}${sequence.toString(36)}${randomUUID().slice(0, 6)}`,
    paymentCode: `134567${String(sequence).padStart(10, '0')}00`,
  };
}

function succeededEvent() {
  const request = paymentRequest();
  return {
    paymentId: randomUUID(),
    merchantId: request.merchantId,
    terminalId: request.terminalId,
    channel: request.channel,
    amountFen: request.amountFen,
    currency: request.currency,
    outTradeNo: request.outTradeNo,
    succeededAt: formatShanghai(new Date()),
    channelTradeNo: `SIMWX${randomUUID().replace(/-/g, '')}`,
  };
}

/** Runs `worker` on `concurrency` lanes until the deadline; returns how many units were done. */
async function forDuration(concurrency: number, durationMs: number, worker: () => Promise<number>): Promise<{ done: number; ms: number }> {
  const start = performance.now();
  const deadline = start + durationMs;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        // Not `done += await worker()`: that reads `done` before the await and loses the other lanes' counts.
        const units = await worker();
        done += units;
      }
    }),
  );
  return { done, ms: performance.now() - start };
}

async function rawKafka(stack: TestStack): Promise<number> {
  const broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('bench-raw'))), `${uniqueName('raw')}.`);
  await broker.ensureTopics([{ name: Topics.paymentEvents, partitions: 6 }]);
  const producer = await broker.createProducer();
  const batch = 100;
  const { done, ms } = await forDuration(4, PHASE_MS, async () => {
    const messages = Array.from({ length: batch }, () =>
      encodeEnvelope(Topics.paymentEvents, {
        id: randomUUID(),
        type: 'pos.payment.succeeded',
        source: '/bench',
        time: new Date().toISOString(),
        schemaVersion: 1,
        key: 'M100',
        data: succeededEvent(),
      }),
    );
    await producer.send(messages);
    return batch;
  });
  await producer.disconnect();
  await broker.close();
  return (done / ms) * 1_000;
}

async function rawPostgres(postgresUrl: string): Promise<number> {
  const dataSource = createDataSource(
    { url: postgresUrl, schema: uniqueName('bench_raw') },
    { applicationName: 'bench-raw', migrations: [...messagingMigrations, CreatePaymentTables1764300000000], poolSize: 10 },
  );
  await dataSource.initialize();
  await runMigrations(dataSource);
  // As many lanes as pooled connections: more lanes only queue in the pool.
  const { done, ms } = await forDuration(10, PHASE_MS, async () => {
    const request = paymentRequest();
    const event = succeededEvent();
    const now = new Date();
    // Prepared statements, as the service's hot statements are (queryPrepared), so both sides pay the same per statement.
    await dataSource.transaction(async (tx) => {
      await queryPrepared(
        tx,
        `INSERT INTO payments (payment_id, merchant_id, terminal_id, channel, amount_fen, currency, out_trade_no, masked_reference,
           request_hash, intake, status, created_at, updated_at, succeeded_at, business_date, channel_trade_no)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'HTTP', 'SUCCEEDED', $10, $10, $10, $11, $12)`,
        [event.paymentId, request.merchantId, request.terminalId, request.channel, request.amountFen, request.currency,
          request.outTradeNo, '**************0000', 'f'.repeat(64), now, now.toISOString().slice(0, 10), event.channelTradeNo],
      );
      await queryPrepared(tx, `INSERT INTO outbox (event_id, topic, message_key, headers, payload) VALUES ($1, $2, $3, $4, $5)`, [
        randomUUID(), Topics.paymentEvents, 'M100', JSON.stringify({ ce_type: 'pos.payment.succeeded' }), JSON.stringify(event),
      ]);
    });
    return 1;
  });
  await dataSource.destroy();
  return (done / ms) * 1_000;
}

async function eventsOnTopic(broker: MessageBroker): Promise<number> {
  const [offsets] = await broker.topicOffsets([Topics.paymentEvents]);
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

async function service(stack: TestStack) {
  // The service runs as its own process from its production bundle, as it does in a container.
  const schema = uniqueName('payment_bench');
  const booted = await spawnService('payment-service', {
    ...(await stackEnv(stack, schema)),
    KAFKA_CLIENT_ID: schema,
    MERCHANT_API_KEYS: `M100:${hashApiKey(API_KEY)}`,
    LOG_LEVEL: 'error',
    KAFKA_TOPIC_PARTITIONS: '6',
    // To profile the service: BENCH_SERVICE_NODE_OPTIONS=--perf-basic-prof (or --cpu-prof).
    ...(process.env['BENCH_SERVICE_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_SERVICE_NODE_OPTIONS'] } : {}),
  });
  const broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('bench-observer'))), `${schema}.`);
  try {
    // Warm-up: connections, JIT, the relay's producer.
    for (let i = 0; i < 50; i++) {
      await fetch(`${booted.url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify(paymentRequest()) });
    }
    while ((await eventsOnTopic(broker)) < 50) await new Promise((r) => setTimeout(r, 100));

    const setupRequest: SetupRequest = (request) => ({ ...request, body: JSON.stringify(paymentRequest()) });
    const start = performance.now();
    const result = await autocannon({
      url: `${booted.url}/v1/payments`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: PHASE_MS / 1_000,
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      requests: [{ setupRequest }],
    });
    const httpMs = performance.now() - start;
    const accepted = result.statusCodeStats?.['201']?.count ?? 0;
    const expected = 50 + accepted;
    const drainDeadline = performance.now() + 120_000;
    let published = await eventsOnTopic(broker);
    while (published < expected && performance.now() < drainDeadline) {
      await new Promise((r) => setTimeout(r, 100));
      published = await eventsOnTopic(broker);
    }
    const kafkaMs = performance.now() - start;
    return {
      accepted,
      non201: result.requests.total - accepted,
      errors: result.errors,
      httpPerSecond: (accepted / httpMs) * 1_000,
      toKafkaPerSecond: ((published - 50) / kafkaMs) * 1_000,
      lagAfterHttpMs: kafkaMs - httpMs,
      published: published - 50,
      p50: result.latency.p50,
      p99: result.latency.p99,
    };
  } finally {
    await broker.close();
    await booted.stop();
  }
}

async function main(): Promise<void> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  const kafka = benchKafkaOptions();
  const started = await startTestStack(undefined, kafka);
  console.log(kafka.label);
  try {
    console.log(`phases of ${PHASE_MS / 1_000} s, ${CONNECTIONS} connections, on ${require('node:os').cpus().length} cores`);
    // Kafka first: a freshly started broker's JVM is still compiling for a while and would starve
    // whatever runs next to it on two cores.
    const kafka = await rawKafka(started.stack);
    console.log(`raw Kafka (KafkajsBroker, batches of 100, 4 in flight): ${kafka.toFixed(0)} events/s`);
    const postgres = await rawPostgres(started.stack.postgresUrl);
    console.log(`raw PostgreSQL (payment row + outbox row per transaction, 10 lanes, pool 10): ${postgres.toFixed(0)} payments/s`);
    const figures = await service(started.stack);
    console.log(
      `service: ${figures.accepted} accepted (${figures.non201} other answers, ${figures.errors} errors), ` +
        `${figures.httpPerSecond.toFixed(0)} payments/s over HTTP, ${figures.toKafkaPerSecond.toFixed(0)} payments/s reaching Kafka ` +
        `(${figures.published} events, last one ${figures.lagAfterHttpMs.toFixed(0)} ms after the load ended); ` +
        `acceptance latency p50 ${figures.p50} ms, p99 ${figures.p99} ms`,
    );
    const slower = Math.min(kafka, postgres);
    const sustained = Math.min(figures.httpPerSecond, figures.toKafkaPerSecond);
    console.log(
      `aim: at least a third of the slower raw limit (${(slower / 3).toFixed(0)}/s): ${sustained.toFixed(0)}/s = ` +
        `${((sustained / slower) * 100).toFixed(0)} % of it -> ${sustained >= slower / 3 ? 'MET' : 'NOT MET'}`,
    );
  } finally {
    await started.stop();
  }
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
