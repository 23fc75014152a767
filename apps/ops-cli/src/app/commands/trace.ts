import { allTopics, BatchClosed } from '@pos/contracts';
import { notFound } from '../exit-codes';
import { OpsContext, parseTime } from '../context';
import { byEventTime, field, MessageRecord, renderRecord, toRecord } from '../records';

export interface TraceOptions {
  /** Scan from this time instead of the start of every topic (RFC 3339 or `3d`). */
  readonly since?: string;
}

/** Reads every topic of the contracts, dead-letter topics included, up to their current ends. */
async function readEverything(ctx: OpsContext, options: TraceOptions, keep: (r: MessageRecord) => boolean): Promise<MessageRecord[]> {
  const existing = new Set(await ctx.broker.listTopics());
  const topics = allTopics().filter((t) => existing.has(t));
  if (topics.length === 0) return [];
  const at = options.since !== undefined ? parseTime(options.since, ctx.now()) : undefined;
  const offsets = await ctx.broker.topicOffsets(topics);
  const ranges = [];
  for (const t of offsets) {
    const starts = at === undefined ? undefined : new Map((await ctx.broker.offsetsAtTime(t.topic, at)).map((p) => [p.partition, p.offset]));
    for (const p of t.partitions) ranges.push({ topic: t.topic, partition: p.partition, from: starts?.get(p.partition) ?? p.low, until: p.high });
  }
  const kept: MessageRecord[] = [];
  await ctx.broker.readMessages(ranges, async (message) => {
    const record = toRecord(message, ctx.validator);
    if (keep(record)) kept.push(record);
  });
  return kept;
}

export interface PaymentTrace {
  readonly paymentId: string;
  /** The outcome the events tell, latest first wins: VOIDED, CLEARED, SUCCEEDED, PENDING, FAILED, REVERSED, REQUESTED. */
  readonly status: string;
  readonly merchantId?: string;
  readonly outTradeNo?: string;
  readonly batchIds: readonly string[];
  /**
   * The W3C trace ids of its events, each once, in the order they first appear: one per request or
   * command that set something going (the payment, its void, the batch's close), followed across
   * the services. Search the services' logs for one (`traceId`) to see everything done for it.
   */
  readonly traceIds: readonly string[];
  readonly events: readonly MessageRecord[];
}

const BATCH_EVENTS = new Set([
  'pos.clearing.batch.opened',
  'pos.clearing.batch.closing',
  'pos.clearing.batch.closed',
  'pos.clearing.batch.settled',
  'pos.void.gate-closed',
]);

const STATUS_OF: Readonly<Record<string, string>> = {
  'pos.payment.requested': 'REQUESTED',
  'pos.payment.pending': 'PENDING',
  'pos.payment.succeeded': 'SUCCEEDED',
  'pos.payment.failed': 'FAILED',
  'pos.payment.reversed': 'REVERSED',
  'pos.clearing.payment.cleared': 'CLEARED',
  'pos.void.accepted': 'VOIDED',
  'pos.void.executed': 'VOIDED',
  // ADR 0008: the channel refused the void; the payment is cleared with its batch after all.
  'pos.void.channel-refused': 'VOID_REFUSED',
};

/**
 * What happened to the payment's money, from the types of its events in event-time order (dead
 * letters left out): a void or a clearing is final, except a void its channel refused (ADR 0008),
 * after which the payment is cleared like any other.
 */
export function paymentStatusOf(types: readonly (string | undefined)[]): string {
  let status = 'UNKNOWN';
  for (const type of types) {
    const next = STATUS_OF[type ?? ''];
    const final = status === 'CLEARED' || (status === 'VOIDED' && type !== 'pos.void.channel-refused');
    if (next && !final) status = next;
  }
  return status;
}

/**
 * The story of one payment: every event naming it (payment id or CloudEvents subject), the
 * commands that named it by merchant order number before it had an id, and the life of the
 * settlement batches it or its void belong to, in event-time order.
 */
export async function paymentTraceCommand(ctx: OpsContext, paymentId: string, options: TraceOptions = {}): Promise<PaymentTrace> {
  const candidates = await readEverything(ctx, options, (r) => r.data !== undefined || r.event !== undefined);
  const direct = candidates.filter((r) => field(r, 'paymentId') === paymentId || r.event?.subject === paymentId);
  if (direct.length === 0) {
    throw notFound(`no event mentions payment ${paymentId}`, options.since ? 'try an earlier --since' : 'check the id and --topic-prefix');
  }
  const merchantId = direct.map((r) => field(r, 'merchantId')).find((m) => m !== undefined);
  const outTradeNo = direct.map((r) => field(r, 'outTradeNo')).find((o) => o !== undefined);
  const batchIds = [...new Set(direct.map((r) => field(r, 'batchId')).filter((b): b is string => b !== undefined))];
  const byOrder = (r: MessageRecord) =>
    merchantId !== undefined && outTradeNo !== undefined && field(r, 'merchantId') === merchantId && field(r, 'outTradeNo') === outTradeNo;
  const ofBatch = (r: MessageRecord) => BATCH_EVENTS.has(r.event?.type ?? '') && batchIds.includes(field(r, 'batchId') ?? '');
  const events = candidates.filter((r) => direct.includes(r) || byOrder(r) || ofBatch(r)).sort(byEventTime);
  const status = paymentStatusOf(events.filter((r) => !r.deadLetter).map((r) => r.event?.type));
  const traceIds = [...new Set(events.map((r) => r.event?.traceId).filter((t): t is string => t !== undefined))];
  return { paymentId, status, merchantId, outTradeNo, batchIds, traceIds, events };
}

type FenTotal = BatchClosed['totalFen'];

export interface BatchStory {
  readonly batchId: string;
  readonly status: string;
  /** From `pos.clearing.batch.closed`: the totals the batch closed with. */
  readonly totals?: { paymentCount: number; totalFen: FenTotal; voidedCount: number; voidedFen: FenTotal; settlementDate: string };
  readonly events: readonly MessageRecord[];
}

const BATCH_STATUS_OF: Readonly<Record<string, string>> = {
  'pos.clearing.batch.opened': 'OPEN',
  'pos.clearing.batch.closing': 'CLOSING',
  'pos.void.gate-closed': 'CLOSING',
  'pos.clearing.batch.closed': 'CLOSED',
  'pos.clearing.batch.settled': 'SETTLED',
};

/** Every event about one settlement batch: its life, the payments cleared and the voids accepted in it. */
export async function batchShowCommand(ctx: OpsContext, batchId: string, options: TraceOptions = {}): Promise<BatchStory> {
  const events = (await readEverything(ctx, options, (r) => field(r, 'batchId') === batchId || r.event?.subject === batchId)).sort(byEventTime);
  if (events.length === 0) {
    throw notFound(`no event mentions batch ${batchId}`, options.since ? 'try an earlier --since' : 'check the id and --topic-prefix');
  }
  let status = 'UNKNOWN';
  let totals: BatchStory['totals'];
  for (const r of events) {
    if (r.deadLetter) continue;
    status = BATCH_STATUS_OF[r.event?.type ?? ''] ?? status;
    if (r.event?.type === 'pos.clearing.batch.closed') {
      const d = r.data as BatchClosed;
      totals = { paymentCount: d.paymentCount, totalFen: d.totalFen, voidedCount: d.voidedCount, voidedFen: d.voidedFen, settlementDate: d.settlementDate };
    }
  }
  return { batchId, status, ...(totals ? { totals } : {}), events };
}

/** Fen totals beyond 2^53 arrive as decimal strings (contract version 2): exact through bigint. */
const fen = (amount: FenTotal) => {
  const value = BigInt(amount);
  return `${value / 100n}.${String(value % 100n).padStart(2, '0')} CNY (${value} fen)`;
};

export function renderPaymentTrace(trace: PaymentTrace): string {
  const head = [
    `payment ${trace.paymentId}: ${trace.status}`,
    `merchant ${trace.merchantId ?? '?'}  order ${trace.outTradeNo ?? '?'}  batch ${trace.batchIds.join(', ') || '-'}`,
    `traces ${trace.traceIds.join(', ') || '-'}`,
    `${trace.events.length} events, in event-time order:`,
    '',
  ];
  return [...head, ...trace.events.map(renderRecord)].join('\n');
}

export function renderBatchStory(story: BatchStory): string {
  const t = story.totals;
  const head = [
    `batch ${story.batchId}: ${story.status}`,
    ...(t
      ? [`closed with ${t.paymentCount} payments, ${fen(t.totalFen)}; ${t.voidedCount} voided, ${fen(t.voidedFen)}; settles ${t.settlementDate}`]
      : []),
    `${story.events.length} events, in event-time order:`,
    '',
  ];
  return [...head, ...story.events.map(renderRecord)].join('\n');
}
