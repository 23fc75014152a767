import { request } from 'node:http';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageValidator } from '@pos/messaging';
import { Topics } from '@pos/contracts';
import { BatchRow } from './app/batch-ledger';
import { batchFileName, merchantDirectoryName, parseReconciliation, reconciliationProblems } from '@pos/clearing-domain';
import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { ReconciliationFiles } from './app/reconciliation-files';
import { asMerchant, asOperator, clearingAuthEnv, ClearingDatabase, eventually, keyedMerchantId, payment, Upstream } from './testing/clearing-harness';

const MAX_AMOUNT_FEN = Number.MAX_SAFE_INTEGER;
const validator = new MessageValidator();

interface BatchJson {
  batchId: string;
  merchantId: string;
  terminalId: string | null;
  state: string;
  clearingDate: string;
  totals: { paymentCount: number; totalFen: number | string; voidedCount: number; voidedFen: number | string } | null;
}

/** Edges of clearing: ids that contain separators, totals beyond 2^53 fen, downloads the client abandons. */
describe('clearing service edges on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  const prefix = `${uniqueName('clredge')}.`;
  const schema = uniqueName('clearing_edges');
  let service: BootedService;
  let upstream: Upstream;
  let db: ClearingDatabase;
  let reconciliationDir: string;

  /** A merchant id with `:` in it, whose terminals settle with its key. */
  const separatorMerchant = `${keyedMerchantId('E')}:T1`;
  const batch = async (batchId: string) => (await (await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}`, { headers: asOperator('vera') })).json()) as BatchJson;
  const closedBatch = (batchId: string, timeoutMs?: number) =>
    eventually(async () => {
      const b = await batch(batchId);
      return b.state === 'CLOSED' || b.state === 'SETTLED' ? b : undefined;
    }, `batch ${batchId} to close`, timeoutMs);
  const assigned = (paymentId: string) => eventually(() => db.batchOf(paymentId), `payment ${paymentId} assigned`);
  const filesWritten = (batchId: string) =>
    eventually(
      async () => (await db.query(`SELECT 1 FROM batches WHERE batch_id = $1 AND reconciliation_written_at IS NOT NULL`, [batchId])).length === 1,
      `the files of ${batchId} written`,
    );

  beforeAll(async () => {
    reconciliationDir = await mkdtemp(join(tmpdir(), 'reconciliation-'));
    upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    service = await bootService(clearingServiceDefinition, stack, {
      DATABASE_SCHEMA: schema,
      KAFKA_TOPIC_PREFIX: prefix,
      CUTOFF_SCHEDULE_WECHAT: 'every:3s',
      CUTOFF_SCHEDULE_ALIPAY: 'every:3s',
      RECONCILIATION_DIR: reconciliationDir,
      CLEARING_TICK_MS: '200',
      ...clearingAuthEnv([separatorMerchant]),
    });
    db = await ClearingDatabase.connect(stack, schema);
  });

  afterAll(async () => {
    await upstream?.close();
    await service?.close();
    await db?.close();
  });

  it('keeps batches and files of ids containing separators apart, and names windows in Asia/Shanghai time', async () => {
    const merchantId = separatorMerchant;
    const plainMerchant = merchantId.slice(0, -3);
    const now = new Date().toISOString();
    const card = (merchant: string, terminalId: string, amountFen: number) =>
      payment({ merchantId: merchant, terminalId, channel: 'UNIONPAY_CARD', succeededAt: now, amountFen, card: { batchNo: '000001', voucherNo: '000001' } });
    // Joined unencoded, merchant `X:T1` terminal `T2` and merchant `X` terminal `T1:T2` named one
    // batch; with `:` and `%` mapped to `_` in file names, terminals `T:1` (`T%3A1` in the batch id)
    // and `T_3A1` shared one file.
    const colon = card(merchantId, 'T:1', 101);
    const underscore = card(merchantId, 'T_3A1', 202);
    const shifted = card(merchantId, 'T2', 303);
    const other = card(plainMerchant, 'T1:T2', 404);
    await upstream.paid([colon, underscore, shifted, other]);
    const ids = await Promise.all([colon, underscore, shifted, other].map((p) => assigned(p.paymentId)));
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(/:UNIONPAY_CARD:\d{8}T\d{6}\+0800$/);
    expect((await batch(ids[2])).merchantId).toBe(merchantId);
    expect((await batch(ids[3])).merchantId).toBe(plainMerchant);

    const settle = (merchant: string, terminalId: string) =>
      fetch(`${service.url}/v1/terminal-settlements`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...asMerchant(merchant) },
        body: JSON.stringify({ merchantId: merchant, terminalId, batchNo: '000001', requestedBy: 'supervisor-1' }),
      });
    for (const response of await Promise.all([settle(merchantId, 'T:1'), settle(merchantId, 'T_3A1')])) expect(response.status).toBe(202);
    await upstream.answerGates(merchantId);
    const [closedColon, closedUnderscore] = await Promise.all([closedBatch(ids[0]), closedBatch(ids[1])]);
    expect(closedColon.totals).toMatchObject({ paymentCount: 1, totalFen: 101 });
    expect(closedUnderscore.totals).toMatchObject({ paymentCount: 1, totalFen: 202 });

    // Whatever the files are called, each batch has its own, with its own lines.
    await Promise.all(ids.slice(0, 2).map((id) => filesWritten(id)));
    const dateDirectory = join(reconciliationDir, closedColon.clearingDate);
    const batchFiles = new Map<string, string[]>();
    for (const merchantDirectory of await readdir(dateDirectory)) {
      for (const name of await readdir(join(dateDirectory, merchantDirectory))) {
        if (!name.startsWith('batch_')) continue;
        const file = parseReconciliation(await readFile(join(dateDirectory, merchantDirectory, name), 'utf8'));
        batchFiles.set(join(merchantDirectory, name), file.lines.map((l) => l.paymentId));
      }
    }
    const holding = (paymentId: string) => [...batchFiles].filter(([, lines]) => lines.includes(paymentId));
    expect(holding(colon.paymentId)).toEqual([[join(merchantDirectoryName(merchantId), batchFileName(ids[0])), [colon.paymentId]]]);
    expect(holding(underscore.paymentId)).toEqual([[join(merchantDirectoryName(merchantId), batchFileName(ids[1])), [underscore.paymentId]]]);
  });

  it('closes batches whose totals pass 2^53 and 2^63 fen, with exact totals in the event, the API and the file', async () => {
    const merchantId = uniqueName('H').slice(0, 30);
    const at = new Date().toISOString();
    // Two maximal payments pass 2^53 - 1 (the exact range of a JSON number); 1,025 pass 2^63 - 1 (bigint).
    const wechat = [1, 2].map(() => payment({ merchantId, succeededAt: at, amountFen: MAX_AMOUNT_FEN }));
    const alipay = Array.from({ length: 1_025 }, () => payment({ merchantId, succeededAt: at, amountFen: MAX_AMOUNT_FEN, channel: 'ALIPAY' }));
    await upstream.paid([...wechat, ...alipay]);
    await eventually(
      async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM batch_payments WHERE merchant_id = $1`, [merchantId]))[0].n === 1_027,
      'every payment assigned',
    );
    await upstream.answerGates(merchantId);
    const cases = [
      { batchId: await assigned(wechat[0].paymentId), count: 2 },
      { batchId: await assigned(alipay[0].paymentId), count: 1_025 },
    ];
    for (const { batchId, count } of cases) {
      const exact = (BigInt(MAX_AMOUNT_FEN) * BigInt(count)).toString();
      const closed = await closedBatch(batchId);
      expect(closed.totals).toEqual({ paymentCount: count, totalFen: exact, voidedCount: 0, voidedFen: 0 });

      const event = await eventually(
        async () => upstream.eventsOfType('pos.clearing.batch.closed').find((e) => e.data['batchId'] === batchId),
        `batch.closed of ${batchId}`,
      );
      expect(event.data).toMatchObject({ paymentCount: count, totalFen: exact, voidedFen: 0 });
      expect(event.message.headers['ce_schemaversion']).toBe('2');
      expect(validator.validate(Topics.clearingEvents, 'pos.clearing.batch.closed', 2, event.data)).toMatchObject({ ok: true });

      const file = parseReconciliation(await (await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}/reconciliation`, { headers: asOperator('vera') })).text());
      expect(reconciliationProblems(file)).toEqual([]);
      expect(file.batchTotals.get(batchId)?.totalFen).toBe(BigInt(exact));
    }
  });

  it('ends the rendering of a reconciliation file whose client went away mid-download', async () => {
    const merchantId = uniqueName('A').slice(0, 30);
    const first = payment({ merchantId, succeededAt: new Date().toISOString(), amountFen: 1 });
    await upstream.paid([first]);
    const batchId = await assigned(first.paymentId);
    // Enough lines for several pages of the file (megabytes), more than socket buffers take in.
    await db.query(
      `INSERT INTO batch_payments (payment_id, batch_id, merchant_id, terminal_id, channel, amount_fen, out_trade_no,
         channel_trade_no, succeeded_at, assigned_at)
       SELECT gen_random_uuid(), $1, $2, 'T1', 'WECHAT', 100, 'BULK-' || n, 'CH-BULK-' || n, $3, now()
         FROM generate_series(1, 45000) AS n`,
      [batchId, merchantId, first.succeededAt],
    );
    await upstream.answerGates(merchantId);
    const closed = await closedBatch(batchId, 120_000);
    expect(closed.totals).toMatchObject({ paymentCount: 45_001 });
    // The scheduler's own rendering of the file is done before the download starts.
    await filesWritten(batchId);

    const files = service.app.get(ReconciliationFiles);
    const render = files.render.bind(files);
    const downloads: { finished: boolean }[] = [];
    const spy = jest.spyOn(files, 'render').mockImplementation(async function* (batches: readonly BatchRow[], withDayTotal: boolean) {
      const download = { finished: false };
      if (batches.length === 1 && batches[0].batch_id === batchId && !withDayTotal) downloads.push(download);
      try {
        yield* render(batches, withDayTotal);
      } finally {
        download.finished = true;
      }
    });
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const url = new URL(`${service.url}/v1/batches/${encodeURIComponent(batchId)}/reconciliation`);
        const call = request(url, { headers: asOperator('vera') }, (response) => {
          response.once('data', (chunk: Buffer) => {
            // Stop reading, as a client that hangs up does, and hang up.
            response.pause();
            setTimeout(() => {
              call.destroy();
              resolve(chunk.length);
            }, 500);
          });
        });
        call.on('error', (error) => (call.destroyed ? undefined : reject(error)));
        call.end();
      });
      expect(received).toBeGreaterThan(0);
      expect(downloads).toHaveLength(1);
      await eventually(async () => downloads[0].finished, 'the abandoned download to stop rendering', 15_000);

      // The service still serves the whole file to a client that stays.
      const whole = parseReconciliation(await (await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}/reconciliation`, { headers: asOperator('vera') })).text());
      expect(whole.lines).toHaveLength(45_001);
      expect(reconciliationProblems(whole)).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while PostgreSQL gives no connection in time, and answers as before once it does', async () => {
    const batchId = `${separatorMerchant}:WECHAT:20261205T000000+0800`;
    // Every query on the batches table now waits: the service's pool (10 connections) fills with
    // them and the next requests find no connection within the pool's 5 s.
    await db.query('BEGIN');
    await db.query('LOCK TABLE batches IN ACCESS EXCLUSIVE MODE');
    const started = Date.now();
    const answers = Array.from({ length: 14 }, () =>
      fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}`, { headers: asOperator('vera') }).then(async (r) => ({
        status: r.status,
        retryAfter: r.headers.get('retry-after'),
        body: (await r.json()) as { code?: string },
        at: Date.now() - started,
      })),
    );
    const unavailable = await Promise.race([Promise.any(answers), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
    await db.query('COMMIT');
    const all = await Promise.all(answers);
    expect(unavailable).toMatchObject({ status: 503, retryAfter: '1', body: { code: 'DATABASE_UNAVAILABLE' } });
    expect(unavailable?.at).toBeLessThan(10_000);
    // The ones that got a connection waited for the lock and then answered as usual; none is a 500.
    expect(new Set(all.map((a) => (a.status === 503 ? `503 ${a.body.code}` : String(a.status))))).toEqual(new Set(['503 DATABASE_UNAVAILABLE', '404']));
    // Sent again, as the answer asks.
    const again = await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}`, { headers: asOperator('vera') });
    expect(again.status).toBe(404);
  }, 60_000);
});
