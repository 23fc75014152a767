/**
 * Void service benchmark: void decisions per second sustained at a fixed arrival rate (open loop,
 * latency counted from each request's scheduled start, so a stall is not hidden), and p50/p99 of
 *   - decision latency: request in → decision and its events committed (the HTTP answer);
 *   - published latency: request in → its pos.void.accepted acknowledged by Kafka (outbox relay);
 * then a short closed-loop phase for the maximum rate. Real Kafka and PostgreSQL, loopback only;
 * each service runs as its own process from its production bundle (build them first). By default
 * the whole stack runs: the payments are made through the payment service, and the payment and
 * clearing services consume the void events as in production (`--stack void`: the void service
 * alone, its payments published straight to Kafka).
 *
 *   npx nx run-many -t build -p payment-service clearing-service void-service && \
 *     TESTCONTAINERS_RYUK_DISABLED=true TS_NODE_PROJECT=tsconfig.integration.json \
 *     npx ts-node --transpile-only -r tsconfig-paths/register tools/bench/void-decisions.ts [--rate 500] [--seconds 20]
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client } from 'pg';
import { Command, Option } from 'commander';
import { ServiceSources, Topics } from '@pos/contracts';
import { encodeEnvelope, KafkajsBroker, MessageBroker, NamespacedBroker } from '@pos/messaging';
import { hashApiKey } from '@pos/service-runtime';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { spawnService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, startTestStack, TestStack, uniqueName } from '@pos/testing';
import { benchKafkaOptions } from './bench-kafka';
import { cpuByPart, cpuTicks, describeCpu } from './process-cpu';
import { RawHttpClient } from './raw-http-client';

const options = new Command()
  .option('--rate <n>', 'voids per second offered in the open-loop phase', '500')
  .option('--seconds <n>', 'length of the open-loop phase', '20')
  // The service's optimising compiler (TurboFan) takes up the whole request path at once, about
  // 10,500 requests after boot: every function on it is called once per request and crosses the
  // threshold with the others. That burst (about 0.65 s of compiling on a busy 2-core machine) was
  // the worst stall measured after a 3,000-request warm-up, always in the same second.
  .option('--warmup <n>', 'requests at the offered rate before the measured phase', '12000')
  .option('--concurrency <n>', 'requests in flight in the closed-loop phase', '32')
  .option('--max-seconds <n>', 'length of the closed-loop phase (0 skips it)', '10')
  .option('--pool-size <n>', "connections in the void service's PostgreSQL pool", '20')
  .addOption(
    new Option('--stack <parts>', "whole: the payment and clearing services run beside the void service and consume its events, as in production; void: the void service alone")
      .choices(['whole', 'void'])
      .default('whole'),
  )
  .parse()
  .opts<{ rate: string; seconds: string; warmup: string; concurrency: string; maxSeconds: string; poolSize: string; stack: 'whole' | 'void' }>();
const RATE = Math.min(Number(options.rate), 5_000);
const SECONDS = Math.min(Number(options.seconds), 120);
const WARMUP = Math.min(Number(options.warmup), 30_000);
const CONCURRENCY = Math.min(Number(options.concurrency), 256);
const MAX_SECONDS = Math.min(Number(options.maxSeconds), 60);
const POOL_SIZE = Math.min(Math.max(Number(options.poolSize), 1), 100);
const MAX_CLOSED_LOOP_VOIDS = 20_000;

const API_KEY = 'bench-merchant-key';
const MERCHANTS = Array.from({ length: 20 }, (_, i) => `BENCH-M${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const channelOf = (n: number) => (n % 2 ? 'WECHAT' : 'ALIPAY');
const amountOf = (n: number) => 1 + (n % 100_000);

async function waitFor(done: () => Promise<boolean>, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(failure);
    await sleep(200);
  }
}
const ms = (ns: bigint) => Number(ns) / 1e6;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const fmt = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p90 ${percentile(sorted, 90).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
};

interface BenchPayment {
  paymentId: string;
  merchantId: string;
}

async function main(): Promise<void> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  const kafka = benchKafkaOptions();
  const running = await startTestStack(undefined, kafka);
  console.log(kafka.label);
  try {
    await bench(running.stack);
  } finally {
    await running.stop();
  }
}

/** Creates the payments through the payment service's API, as terminals do, `lanes` at a time. */
async function paymentsThroughService(url: string, total: number, lanes = 32): Promise<BenchPayment[]> {
  const client = new RawHttpClient(url, lanes);
  const payments: BenchPayment[] = new Array<BenchPayment>(total);
  let next = 0;
  const lane = async () => {
    for (let n = next++; n < total; n = next++) {
      const merchantId = MERCHANTS[n % MERCHANTS.length];
      const channel = channelOf(n);
      // The simulator answers SUCCESS to a code ending in 00; WeChat codes start 10-15, Alipay's 25-30.
      const paymentCode = `${channel === 'WECHAT' ? '13' : '28'}${String(n).padStart(14, '0')}00`;
      const body = { merchantId, terminalId: 'T1', channel, amountFen: amountOf(n), currency: 'CNY', outTradeNo: `BENCH-${n}`, paymentCode };
      const response = await client.postJson('/v1/payments', JSON.stringify(body), { 'x-api-key': `${API_KEY}-${merchantId}` });
      const answer = JSON.parse(response.body) as { paymentId?: string; status?: string };
      if (response.status !== 201 || answer.status !== 'SUCCEEDED' || !answer.paymentId) {
        throw new Error(`payment ${n}: HTTP ${response.status} ${response.body}`);
      }
      payments[n] = { paymentId: answer.paymentId, merchantId };
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, lane));
  } finally {
    client.close();
  }
  return payments;
}

/** Publishes the payments' pos.payment.succeeded events straight to Kafka, for the void service alone. */
async function paymentsThroughKafka(broker: MessageBroker, total: number): Promise<BenchPayment[]> {
  const payments: BenchPayment[] = [];
  const producer = await broker.createProducer();
  const succeededAt = new Date().toISOString();
  for (let start = 0; start < total; start += 2_000) {
    const batch = Array.from({ length: Math.min(2_000, total - start) }, (_, i) => {
      const n = start + i;
      const p = { paymentId: randomUUID(), merchantId: MERCHANTS[n % MERCHANTS.length] };
      payments.push(p);
      return encodeEnvelope(Topics.paymentEvents, {
        id: randomUUID(),
        type: 'pos.payment.succeeded',
        source: ServiceSources.payment,
        time: succeededAt,
        schemaVersion: 1,
        key: p.merchantId,
        data: {
          ...p,
          terminalId: 'T1',
          channel: channelOf(n),
          amountFen: amountOf(n),
          currency: 'CNY',
          outTradeNo: `BENCH-${n}`,
          succeededAt,
          channelTradeNo: `CH-${n}`,
        },
      });
    });
    await producer.send(batch);
  }
  // Playing clearing too, which alone names batches (ADR 0005): the batch of each merchant and channel.
  const succeeded = new Date(succeededAt);
  const opened = MERCHANTS.flatMap((merchantId) =>
    (['WECHAT', 'ALIPAY'] as const).map((channel) => {
      const key = batchKeyOf({ merchantId, terminalId: 'T1', channel, succeededAt: succeeded }, clearingSchedulesFrom({}));
      return encodeEnvelope(Topics.clearingEvents, {
        id: randomUUID(),
        type: 'pos.clearing.batch.opened',
        source: ServiceSources.clearing,
        time: succeededAt,
        schemaVersion: 2,
        key: merchantId,
        data: {
          batchId: key.batchId,
          merchantId,
          channel,
          clearingDate: key.clearingDate,
          opensAt: key.window.opensAt.toISOString(),
          closesAt: key.window.closesAt.toISOString(),
        },
      });
    }),
  );
  await producer.send(opened);
  await producer.disconnect();
  return payments;
}

async function bench(stack: TestStack): Promise<void> {
  const schema = uniqueName('void_bench');
  const prefix = `${schema}.`;
  const whole = options.stack === 'whole';
  const schemas = whole ? [schema, `${schema}_payment`, `${schema}_clearing`] : [schema];
  const keys = MERCHANTS.map((m) => `${m}:${hashApiKey(`${API_KEY}-${m}`)}`).join(',');
  const envOf = async (serviceSchema: string) => ({
    ...(await stackEnv(stack, serviceSchema, prefix)),
    KAFKA_CLIENT_ID: serviceSchema,
    KAFKA_TOPIC_PARTITIONS: '6',
    MERCHANT_API_KEYS: keys,
    LOG_LEVEL: 'warn',
  });
  // Each service runs as its own process from its production bundle, as it does in a container.
  const service = await spawnService('void-service', {
    ...(await envOf(schema)),
    // To profile the service: BENCH_SERVICE_NODE_OPTIONS=--perf-basic-prof (or --cpu-prof).
    ...(process.env['BENCH_SERVICE_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_SERVICE_NODE_OPTIONS'] } : {}),
    DATABASE_POOL_SIZE: String(POOL_SIZE),
  });
  const neighbours = whole
    ? await Promise.all([
        spawnService('payment-service', await envOf(`${schema}_payment`)),
        spawnService('clearing-service', { ...(await envOf(`${schema}_clearing`)), RECONCILIATION_DIR: `tmp/reconciliation/${schema}` }),
      ])
    : [];
  const processes: Record<string, number> = { 'void service': service.pid, 'load generator': process.pid };
  for (const neighbour of neighbours) processes[neighbour.name.replace('-', ' ')] = neighbour.pid;
  const broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), prefix);
  const db = new Client({ connectionString: stack.postgresUrl });
  await db.connect();
  try {
    const openLoop = RATE * SECONDS;
    const closedLoop = MAX_SECONDS > 0 ? MAX_CLOSED_LOOP_VOIDS : 0;
    const total = WARMUP + openLoop + closedLoop;
    const preloadStart = performance.now();
    const payments = whole ? await paymentsThroughService(neighbours[0].url, total) : await paymentsThroughKafka(broker, total);
    const created = (performance.now() - preloadStart) / 1000;
    // Every payment must be in the void service's facts (and in a clearing batch) before voids start.
    const count = (sql: string) => db.query<{ n: number }>(sql).then(({ rows }) => rows[0].n);
    const ingested = [`SELECT count(*)::int AS n FROM "${schema}".payment_facts`];
    if (whole) ingested.push(`SELECT count(*)::int AS n FROM "${schema}_clearing".batch_payments`);
    for (const sql of ingested) await waitFor(() => count(sql).then((n) => n >= total), 600_000, `${sql}: fewer than ${total} payments`);
    console.log(
      whole
        ? `${total} payments made through the payment service in ${created.toFixed(1)} s, in the void service's facts and clearing's batches after ${((performance.now() - preloadStart) / 1000).toFixed(1)} s`
        : `${total} payment facts ingested from Kafka`,
    );
    // As pgbench does before a run: vacuum and analyze what the preload just wrote, so the first
    // autovacuum and analyze of the freshly loaded tables do not land inside the measured phase
    // (they did, as one stall of 200-260 ms that alone decided the p99).
    const { rows: tables } = await db.query<{ schemaname: string; tablename: string }>(`SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1)`, [schemas]);
    for (const { schemaname, tablename } of tables) await db.query(`VACUUM ANALYZE "${schemaname}"."${tablename}"`);

    // The load generator's client: requests beyond its connections wait for one, and their latency counts that wait.
    const client = new RawHttpClient(service.url, Number(process.env['BENCH_SOCKETS'] ?? 64));
    let next = 0;
    const starts = new Map<string, number>();
    // Every request that did not end in an ACCEPTED decision, counted by what it got instead.
    const errors = new Map<string, number>();
    const warmupErrors = new Map<string, number>();
    const describeErrors = (counts = errors) =>
      counts.size === 0 ? '0 errors' : `${[...counts.values()].reduce((a, b) => a + b, 0)} errors (${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ')})`;
    const voidOne = async (countError: (kind: string) => void): Promise<{ voidId: string; latencyMs: number } | undefined> => {
      const i = next++;
      const p = payments[i];
      const amountFen = amountOf(i);
      const t0 = process.hrtime.bigint();
      const response = await client.postJson('/v1/voids', JSON.stringify({ terminalId: 'T1', paymentId: p.paymentId, amountFen, operatorId: 'OP1' }), {
        'x-api-key': `${API_KEY}-${p.merchantId}`,
        'idempotency-key': `bench-${i}-${schema}`,
      });
      const latencyMs = ms(process.hrtime.bigint() - t0);
      let body: { voidId?: string; decision?: string; reason?: string; code?: string };
      try {
        body = JSON.parse(response.body) as typeof body;
      } catch {
        countError(`HTTP ${response.status} non-JSON body`);
        return undefined;
      }
      if (response.status !== 200 || body.decision !== 'ACCEPTED' || !body.voidId) {
        countError(`HTTP ${response.status} ${body.code ?? body.reason ?? body.decision ?? ''}`.trim());
        return undefined;
      }
      return { voidId: body.voidId, latencyMs };
    };
    const voidOneCounted = async (counts = errors) => {
      const countError = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
      try {
        return await voidOne(countError);
      } catch (error) {
        countError(error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` : String(error));
        return undefined;
      }
    };

    // Open loop at RATE/s: each request starts at its scheduled time whatever the others do. The
    // first WARMUP requests are the warm-up (the JIT compilers of the service and the broker, the
    // connection pools, the producer), sent at the offered rate itself: the measured phase is a
    // window of one steady run, not the aftermath of a burst (a closed-loop warm-up left an outbox
    // backlog behind that the relay was still publishing in the first seconds measured).
    // The load generator's own stalls delay sending and reading alike; they are reported, not hidden.
    const generatorLag = monitorEventLoopDelay({ resolution: 5 });
    const latencies: number[] = [];
    // The slowest decision of each second of the phase: shows whether the tail is spread or a few stalls.
    const slowestBySecond: number[] = Array.from({ length: SECONDS }, () => 0);
    const scheduleStart = performance.now();
    const wallStart = Date.now();
    const measuredFrom = scheduleStart + (WARMUP * 1000) / RATE;
    const inflight: Promise<void>[] = [];
    let cpuAtPhaseStart: ReturnType<typeof cpuTicks>;
    let partsAtPhaseStart: ReturnType<typeof cpuByPart>;
    let phaseStartedAt = 0;
    for (let k = 0; k < WARMUP + openLoop; k++) {
      const due = scheduleStart + (k * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const late = performance.now() - due;
      if (k < WARMUP) {
        inflight.push(voidOneCounted(warmupErrors).then(() => undefined));
        continue;
      }
      if (k === WARMUP) {
        generatorLag.enable();
        cpuAtPhaseStart = cpuTicks();
        partsAtPhaseStart = cpuByPart(processes);
        phaseStartedAt = performance.now();
      }
      const measured = k - WARMUP;
      const scheduledWall = wallStart + (k * 1000) / RATE;
      inflight.push(
        voidOneCounted().then((r) => {
          if (!r) return;
          const latency = r.latencyMs + Math.max(0, late);
          latencies.push(latency);
          const second = Math.min(SECONDS - 1, Math.floor(measured / RATE));
          slowestBySecond[second] = Math.max(slowestBySecond[second], latency);
          starts.set(r.voidId, scheduledWall);
        }),
      );
    }
    await Promise.all(inflight);
    const cpuAtPhaseEnd = cpuTicks();
    const partsAtPhaseEnd = cpuByPart(processes);
    const phaseSeconds = (performance.now() - phaseStartedAt) / 1000;
    console.log(`warm-up: ${WARMUP} voids at ${RATE}/s, ${describeErrors(warmupErrors)}`);
    const elapsed = (performance.now() - measuredFrom) / 1000;
    generatorLag.disable();

    // Published: when the relay had Kafka's ack for each pos.void.accepted.
    const published: number[] = [];
    await waitFor(
      () => count(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`).then((n) => n === 0),
      120_000,
      'outbox rows still unpublished after 120 s',
    );
    const { rows } = await db.query<{ void_id: string; published_ms: number }>(
      `SELECT payload->>'voidId' AS void_id, extract(epoch FROM published_at) * 1000 AS published_ms
       FROM "${schema}".outbox WHERE headers->>'ce_type' = 'pos.void.accepted'`,
    );
    const phaseStart = new Date(wallStart + (WARMUP * 1000) / RATE);
    // As for decisions: the slowest publication of each second, by the second its request was due.
    const slowestPublishedBySecond: number[] = Array.from({ length: SECONDS }, () => 0);
    for (const row of rows) {
      const start = starts.get(row.void_id);
      if (start === undefined) continue;
      const latency = Number(row.published_ms) - start;
      published.push(latency);
      const second = Math.min(SECONDS - 1, Math.max(0, Math.floor((start - phaseStart.getTime()) / 1000)));
      slowestPublishedBySecond[second] = Math.max(slowestPublishedBySecond[second], latency);
    }

    // The relay's cadence over the phase: each batch it sent shares one published_at (its ack).
    const { rows: relayed } = await db.query<{ events: number; batches: number; longest_gap_ms: number }>(
      `WITH phase AS (SELECT published_at FROM "${schema}".outbox
                      WHERE created_at >= $1 AND created_at < $1::timestamptz + make_interval(secs => $2)),
            acks AS (SELECT DISTINCT published_at FROM phase),
            gaps AS (SELECT published_at - lag(published_at) OVER (ORDER BY published_at) AS gap FROM acks)
       SELECT (SELECT count(*) FROM phase)::int AS events, (SELECT count(*) FROM acks)::int AS batches,
              (SELECT extract(epoch FROM max(gap)) * 1000 FROM gaps)::float8 AS longest_gap_ms`,
      [phaseStart, SECONDS],
    );
    console.log(
      `open loop: ${openLoop} voids offered at ${RATE}/s over ${elapsed.toFixed(1)} s from ${phaseStart.toISOString()} = ${(latencies.length / elapsed).toFixed(0)} decisions/s sustained, ${describeErrors()}`,
    );
    errors.clear();
    console.log(`  decision latency (request in → stored, answered): ${fmt(latencies)}`);
    const slowSeconds = (slowest: number[]) => {
      const stalls = slowest.map((max, second) => ({ second, max })).filter((s) => s.max > 50);
      return stalls.length === 0 ? 'none' : stalls.map((s) => `${s.second + 1}s (${s.max.toFixed(0)} ms)`).join(', ');
    };
    console.log(
      `  seconds of the phase with a decision over 50 ms: ${slowSeconds(slowestBySecond)}; ` +
        `load generator's own event-loop lag: p99 ${(generatorLag.percentile(99) / 1e6).toFixed(1)} ms, max ${(generatorLag.max / 1e6).toFixed(1)} ms`,
    );
    console.log(`  published latency (request in → pos.void.accepted acked by Kafka): ${fmt(published)}  [${published.length} events]`);
    console.log(`  seconds of the phase with a publication over 50 ms: ${slowSeconds(slowestPublishedBySecond)}`);
    const { events, batches, longest_gap_ms } = relayed[0];
    console.log(
      `  relay: ${events} events in ${batches} batches = ${(batches / SECONDS).toFixed(0)} batches/s, ${(events / Math.max(batches, 1)).toFixed(1)} events per batch, ` +
        `longest time between two acks ${Number(longest_gap_ms).toFixed(0)} ms`,
    );
    if (cpuAtPhaseStart && cpuAtPhaseEnd) {
      // Steal: time the hypervisor gave this VM's CPUs to others while they had work (0 on bare metal).
      const total = cpuAtPhaseEnd.total - cpuAtPhaseStart.total;
      const share = (ticks: number) => `${((100 * ticks) / total).toFixed(1)} %`;
      console.log(
        `  machine CPU over the phase (all cores): busy ${share(cpuAtPhaseEnd.busy - cpuAtPhaseStart.busy)}, stolen by the hypervisor ${share(cpuAtPhaseEnd.steal - cpuAtPhaseStart.steal)}`,
      );
    }
    if (partsAtPhaseStart && partsAtPhaseEnd) {
      console.log(`  CPU over the phase by process, % of one core: ${describeCpu(partsAtPhaseStart, partsAtPhaseEnd, phaseSeconds)}`);
    }
    if (whole) {
      // The rest of the stack's work for each acceptance: the payment marked VOIDED, the payment excluded from its batch.
      const acceptedSoFar = await count(`SELECT count(*)::int AS n FROM "${schema}".void_decisions WHERE decision = 'ACCEPTED'`);
      const drained = performance.now();
      await waitFor(
        async () =>
          (await count(`SELECT count(*)::int AS n FROM "${schema}_payment".payments WHERE status = 'VOIDED'`)) >= acceptedSoFar &&
          (await count(`SELECT count(*)::int AS n FROM "${schema}_clearing".voided_payments`)) >= acceptedSoFar,
        300_000,
        `the payment and clearing services did not apply ${acceptedSoFar} accepted voids`,
      );
      console.log(`  the payment service had marked and clearing had excluded all ${acceptedSoFar} accepted voids ${((performance.now() - drained) / 1000).toFixed(1)} s after the void service's outbox had drained`);
    }

    if (closedLoop > 0) {
      const closedLatencies: number[] = [];
      const stopAt = performance.now() + MAX_SECONDS * 1000;
      const started = performance.now();
      const worker = async () => {
        while (performance.now() < stopAt && next < payments.length) {
          const r = await voidOneCounted();
          if (r) closedLatencies.push(r.latencyMs);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const took = (performance.now() - started) / 1000;
      console.log(`closed loop: ${CONCURRENCY} in flight for ${took.toFixed(1)} s = ${(closedLatencies.length / took).toFixed(0)} decisions/s max, ${describeErrors()}; ${fmt(closedLatencies)}`);
    }
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const accepted = metrics.split('\n').filter((l) => l.startsWith('pos_void_decisions_total{') && l.includes('ACCEPTED'));
    console.log(`server metrics: ${accepted.join('; ')}`);
    // The server's own view (transaction only, without HTTP and client queueing), all phases together.
    const buckets = metrics
      .split('\n')
      .filter((l) => l.startsWith('pos_void_decision_duration_seconds_bucket{') && l.includes('source="HTTP"'))
      .map((l) => `≤${/le="([^"]+)"/.exec(l)?.[1]}s: ${l.split(' ').pop()}`);
    console.log(`server decision time histogram (cumulative): ${buckets.join(', ')}`);
    // Stalls of the service's own event loop (garbage collection, long synchronous work), all phases together.
    const gauge = (name: string) => Number(metrics.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? Number.NaN);
    const gcLines = metrics.split('\n').filter((l) => /^nodejs_gc_duration_seconds_(sum|count)\{/.test(l));
    const gc = (kind: string, what: 'sum' | 'count') => Number(gcLines.find((l) => l.includes(`_${what}{`) && l.includes(`kind="${kind}"`))?.split(' ').pop() ?? 0);
    console.log(
      `server event loop: lag p99 ${(gauge('nodejs_eventloop_lag_p99_seconds') * 1000).toFixed(1)} ms, max ${(gauge('nodejs_eventloop_lag_max_seconds') * 1000).toFixed(1)} ms; ` +
        `GC ${['minor', 'major', 'incremental'].map((k) => `${k} ${gc(k, 'count')}× ${(gc(k, 'sum') * 1000).toFixed(0)} ms`).join(', ')}`,
    );
    client.close();
  } finally {
    await db.end();
    await broker.close();
    await Promise.all([service, ...neighbours].map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
