/**
 * Clearing service benchmark: (1) ingest rate of pos.payment.succeeded events into batches, through
 * real Kafka and PostgreSQL; (2) closing one batch of 1,000,000 payments (set-based totals, voided
 * set frozen, one payment.cleared outbox row per payment), then its reconciliation file.
 *
 *   TESTCONTAINERS_RYUK_DISABLED=true TS_NODE_PROJECT=tsconfig.integration.json \
 *     npx ts-node --transpile-only -r tsconfig-paths/register tools/bench/clearing-close.ts [payments] [ingestEvents]
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics, VoidGateClosed } from '@pos/contracts';
import { bootService } from '@pos/service-testing';
import { startTestStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from '../../apps/clearing-service/src/app/clearing-service.definition';
import { ClearingDatabase, envelope, eventually, payment, Upstream } from '../../apps/clearing-service/src/testing/clearing-harness';

const CLOSE_PAYMENTS = Number(process.argv[2] ?? 1_000_000);
const INGEST_EVENTS = Number(process.argv[3] ?? 20_000);
const VOIDED = 1_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  const started = Date.now();
  const running = await startTestStack();
  console.log(`stack up in ${seconds(Date.now() - started)}`);
  const stack = running.stack;
  const schema = uniqueName('clearing_bench');
  const prefix = `${schema}.`;
  const upstream = new Upstream(stack, prefix);
  await upstream.observeClearing(uniqueName('observer'));
  const reconciliationDir = join(tmpdir(), schema);
  const service = await bootService(clearingServiceDefinition, stack, {
    DATABASE_SCHEMA: schema,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '6',
    RECONCILIATION_DIR: reconciliationDir,
    LOG_LEVEL: 'warn',
  });
  const db = await ClearingDatabase.connect(stack, schema);
  try {
    // ---- 1. ingest: events produced up front, clock runs until every payment sits in a batch.
    const merchants = Array.from({ length: 60 }, (_, i) => `BENCH-M${i}`);
    const now = new Date().toISOString();
    const events = Array.from({ length: INGEST_EVENTS }, (_, i) =>
      payment({ merchantId: merchants[i % merchants.length], succeededAt: now, amountFen: 1 + (i % 10_000), channel: i % 2 ? 'WECHAT' : 'ALIPAY' }),
    );
    const produceStart = Date.now();
    for (let i = 0; i < events.length; i += 2_000) await upstream.paid(events.slice(i, i + 2_000));
    const produced = Date.now();
    await eventually(async () => (await db.assignedCount()) >= INGEST_EVENTS, 'ingest', 600_000, 100);
    const ingested = Date.now();
    console.log(
      `ingest: ${INGEST_EVENTS} payment events (${merchants.length} merchants, 6 partitions, one instance): produced in ${seconds(produced - produceStart)}, ` +
        `all in batches after ${seconds(ingested - produceStart)} = ${Math.round(INGEST_EVENTS / ((ingested - produceStart) / 1000))} payments/s`,
    );

    // ---- 2. close: one CLOSING batch holding CLOSE_PAYMENTS payments, VOIDED of them voided.
    const batchId = `BENCH-BIG:WECHAT:${randomUUID().slice(0, 8)}`;
    const fillStart = Date.now();
    await db.query(
      `INSERT INTO batches (batch_id, base_batch_id, sequence, merchant_id, channel, clearing_date, opens_at, closes_at, state, close_reason, cutoff_at, closing_at)
       VALUES ($1, $1, 1, 'BENCH-BIG', 'WECHAT', (now() AT TIME ZONE 'Asia/Shanghai')::date, now() - interval '1 day', now(), 'CLOSING', 'CUTOFF', now(), now())`,
      [batchId],
    );
    await db.query(
      `INSERT INTO batch_payments (payment_id, batch_id, merchant_id, terminal_id, channel, amount_fen, out_trade_no, channel_trade_no, succeeded_at, assigned_at)
       SELECT gen_random_uuid(), $1, 'BENCH-BIG', 'T' || (i % 50), 'WECHAT', 1 + (i::bigint * 7919) % 100000, 'ORD' || i, 'CH' || i,
              now() - interval '1 day' + i * interval '1 ms', now()
         FROM generate_series(1, $2::int) i`,
      [batchId, CLOSE_PAYMENTS],
    );
    await db.query(
      `INSERT INTO voided_payments (payment_id, void_id, batch_id, merchant_id, out_trade_no, amount_fen, decided_at)
       SELECT payment_id, gen_random_uuid(), batch_id, merchant_id, out_trade_no, amount_fen, now()
         FROM batch_payments WHERE batch_id = $1 ORDER BY payment_id LIMIT $2`,
      [batchId, VOIDED],
    );
    await db.query(`ANALYZE batch_payments`);
    await db.query(`ANALYZE voided_payments`);
    const [expected] = await db.query<{ count: string; fen: string; vcount: string; vfen: string }>(
      `SELECT count(*) FILTER (WHERE v.payment_id IS NULL)::text AS count, coalesce(sum(p.amount_fen) FILTER (WHERE v.payment_id IS NULL), 0)::text AS fen,
              count(v.payment_id)::text AS vcount, coalesce(sum(p.amount_fen) FILTER (WHERE v.payment_id IS NOT NULL), 0)::text AS vfen
         FROM batch_payments p LEFT JOIN voided_payments v USING (payment_id) WHERE p.batch_id = $1`,
      [batchId],
    );
    console.log(`close: filled a batch of ${CLOSE_PAYMENTS} payments (${VOIDED} voided) in ${seconds(Date.now() - fillStart)}`);

    const gate: VoidGateClosed = { batchId, merchantId: 'BENCH-BIG', closedAt: new Date().toISOString(), acceptedVoids: VOIDED };
    const closeStart = Date.now();
    await upstream.send(Topics.voidEvents, [envelope('pos.void.gate-closed', 'BENCH-BIG', gate)]);
    const closed = await eventually(async () => {
      const [row] = await db.query<{ state: string; payment_count: string; total_fen: string; voided_count: string; voided_fen: string }>(
        `SELECT state, payment_count::text, total_fen::text, voided_count::text, voided_fen::text FROM batches WHERE batch_id = $1`,
        [batchId],
      );
      return row.state === 'CLOSED' ? row : undefined;
    }, 'the close', 600_000, 20);
    const closeMs = Date.now() - closeStart;
    await eventually(async () => {
      const [row] = await db.query<{ done: boolean }>(`SELECT cleared_events_done AS done FROM batches WHERE batch_id = $1`, [batchId]);
      return row.done;
    }, 'every payment.cleared event in the outbox', 600_000, 100);
    const fanOutMs = Date.now() - closeStart;
    const [outbox] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM outbox WHERE payload->>'batchId' = $1 AND headers->>'ce_type' = 'pos.clearing.payment.cleared'`, [batchId]);
    const exact = closed.payment_count === expected.count && closed.total_fen === expected.fen && closed.voided_count === expected.vcount && closed.voided_fen === expected.vfen;
    console.log(
      `close: gate-closed produced -> batch CLOSED in ${seconds(closeMs)} (includes Kafka delivery); totals ${closed.payment_count} payments, ${closed.total_fen} fen, ` +
        `${closed.voided_count} voided (${closed.voided_fen} fen): ${exact ? 'exact' : `MISMATCH, expected ${JSON.stringify(expected)}`}`,
    );
    console.log(`close: all ${outbox.n} payment.cleared events in the outbox ${seconds(fanOutMs)} after gate-closed (chunks of 100,000 after the close)`,
    );
    const fileStart = closeStart;
    await eventually(async () => {
      const [row] = await db.query<{ written: boolean }>(`SELECT reconciliation_written_at IS NOT NULL AS written FROM batches WHERE batch_id = $1`, [batchId]);
      return row.written;
    }, 'the reconciliation file', 600_000, 100);
    const file = reconciliationDir;
    console.log(`close: reconciliation files (batch + merchant day) written ${seconds(Date.now() - fileStart)} after gate-closed, under ${file}`);
    const sizes = await db.query<{ clearing_date: string }>(`SELECT clearing_date::text FROM batches WHERE batch_id = $1`, [batchId]);
    const batchFile = join(reconciliationDir, sizes[0].clearing_date, 'BENCH-BIG', `batch_${batchId.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`);
    console.log(`close: batch file ${((await stat(batchFile)).size / 1e6).toFixed(1)} MB`);
    if (!exact || closeMs > 10_000) process.exitCode = 1;
  } finally {
    await upstream.close();
    await service.close();
    await db.close();
    await running.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
