import { formatShanghai } from '@pos/business-calendar';
import { fen, formatYuan } from '@pos/money';

/** One payment as it appears in a reconciliation file (对账单). */
export interface ReconciliationLine {
  readonly batchId: string;
  readonly clearingDate: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: string;
  readonly cardBatchNo: string | null;
  readonly voucherNo: string | null;
  readonly paymentId: string;
  /** The merchant's original order number: voided payments are listed under it too. */
  readonly outTradeNo: string;
  readonly channelTradeNo: string;
  readonly succeededAt: Date;
  readonly amountFen: number;
  readonly voided: boolean;
}

/** Exact totals of a batch or of a file; sums are bigint so no total can lose a fen. */
export interface ClearingTotals {
  readonly paymentCount: bigint;
  readonly totalFen: bigint;
  readonly voidedCount: bigint;
  readonly voidedFen: bigint;
}

export const ZERO_TOTALS: ClearingTotals = { paymentCount: 0n, totalFen: 0n, voidedCount: 0n, voidedFen: 0n };

export function addLine(totals: ClearingTotals, line: Pick<ReconciliationLine, 'amountFen' | 'voided'>): ClearingTotals {
  const amount = BigInt(line.amountFen);
  return line.voided
    ? { ...totals, voidedCount: totals.voidedCount + 1n, voidedFen: totals.voidedFen + amount }
    : { ...totals, paymentCount: totals.paymentCount + 1n, totalFen: totals.totalFen + amount };
}

export function addTotals(a: ClearingTotals, b: ClearingTotals): ClearingTotals {
  return {
    paymentCount: a.paymentCount + b.paymentCount,
    totalFen: a.totalFen + b.totalFen,
    voidedCount: a.voidedCount + b.voidedCount,
    voidedFen: a.voidedFen + b.voidedFen,
  };
}

export function totalsOf(lines: Iterable<Pick<ReconciliationLine, 'amountFen' | 'voided'>>): ClearingTotals {
  let totals = ZERO_TOTALS;
  for (const line of lines) totals = addLine(totals, line);
  return totals;
}

export type TotalsMismatch = { readonly field: keyof ClearingTotals; readonly expected: bigint; readonly actual: bigint };

/** The fields on which two totals disagree; empty when a file agrees with its batch to the fen. */
export function totalsMismatches(expected: ClearingTotals, actual: ClearingTotals): TotalsMismatch[] {
  const fields: (keyof ClearingTotals)[] = ['paymentCount', 'totalFen', 'voidedCount', 'voidedFen'];
  return fields.filter((field) => expected[field] !== actual[field]).map((field) => ({ field, expected: expected[field], actual: actual[field] }));
}

export const RECONCILIATION_LINE_COLUMNS = [
  'record_type',
  'batch_id',
  'clearing_date',
  'merchant_id',
  'terminal_id',
  'channel',
  'card_batch_no',
  'voucher_no',
  'payment_id',
  'out_trade_no',
  'channel_trade_no',
  'succeeded_at',
  'amount_fen',
  'amount_yuan',
  'status',
] as const;

export const RECONCILIATION_TOTAL_COLUMNS = ['record_type', 'batch_id', 'payment_count', 'total_fen', 'voided_count', 'voided_fen'] as const;

/** RFC 4180: quote a field holding a separator, quote or line break; double embedded quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const row = (fields: readonly string[]) => `${fields.map(csvField).join(',')}\r\n`;

export function reconciliationHeader(): string {
  return row(RECONCILIATION_LINE_COLUMNS);
}

export function reconciliationLine(line: ReconciliationLine): string {
  return row([
    'PAYMENT',
    line.batchId,
    line.clearingDate,
    line.merchantId,
    line.terminalId,
    line.channel,
    line.cardBatchNo ?? '',
    line.voucherNo ?? '',
    line.paymentId,
    line.outTradeNo,
    line.channelTradeNo,
    formatShanghai(line.succeededAt),
    String(line.amountFen),
    formatYuan(fen(line.amountFen)),
    line.voided ? 'VOIDED' : 'CLEARED',
  ]);
}

/**
 * The summary section after the lines, as in the channels' own bills: its own header, one
 * BATCH_TOTAL row per batch, and for a file over several batches a DAY_TOTAL row.
 */
export function reconciliationSummary(batches: readonly { readonly batchId: string; readonly totals: ClearingTotals }[], withDayTotal: boolean): string {
  const totalRow = (kind: string, batchId: string, t: ClearingTotals) =>
    row([kind, batchId, String(t.paymentCount), String(t.totalFen), String(t.voidedCount), String(t.voidedFen)]);
  let text = row(RECONCILIATION_TOTAL_COLUMNS);
  for (const batch of batches) text += totalRow('BATCH_TOTAL', batch.batchId, batch.totals);
  if (withDayTotal) text += totalRow('DAY_TOTAL', '', batches.reduce((sum, b) => addTotals(sum, b.totals), ZERO_TOTALS));
  return text;
}

/** Splits a CSV row (as rendered above) back into fields; used to check files against totals. */
export function parseCsvRow(text: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}

export interface ParsedReconciliation {
  readonly lines: { readonly batchId: string; readonly paymentId: string; readonly outTradeNo: string; readonly amountFen: number; readonly voided: boolean }[];
  readonly batchTotals: Map<string, ClearingTotals>;
  readonly dayTotal?: ClearingTotals;
}

/** Reads a reconciliation file back: what operators and tests use to check it against the batch. */
export function parseReconciliation(text: string): ParsedReconciliation {
  const lines: ParsedReconciliation['lines'][number][] = [];
  const batchTotals = new Map<string, ClearingTotals>();
  let dayTotal: ClearingTotals | undefined;
  const col = (name: (typeof RECONCILIATION_LINE_COLUMNS)[number]) => RECONCILIATION_LINE_COLUMNS.indexOf(name);
  for (const raw of text.split('\r\n')) {
    if (raw === '') continue;
    const f = parseCsvRow(raw);
    const totals = (): ClearingTotals => ({ paymentCount: BigInt(f[2]), totalFen: BigInt(f[3]), voidedCount: BigInt(f[4]), voidedFen: BigInt(f[5]) });
    if (f[0] === 'PAYMENT') {
      lines.push({
        batchId: f[col('batch_id')],
        paymentId: f[col('payment_id')],
        outTradeNo: f[col('out_trade_no')],
        amountFen: Number(f[col('amount_fen')]),
        voided: f[col('status')] === 'VOIDED',
      });
    } else if (f[0] === 'BATCH_TOTAL') batchTotals.set(f[1], totals());
    else if (f[0] === 'DAY_TOTAL') dayTotal = totals();
  }
  return { lines, batchTotals, ...(dayTotal ? { dayTotal } : {}) };
}

/**
 * Checks a file against itself: the lines of every batch add up to that batch's total row, and
 * the day total is the sum of the batch totals. Returns the problems found; none means it agrees.
 */
export function reconciliationProblems(file: ParsedReconciliation): string[] {
  const problems: string[] = [];
  const byBatch = new Map<string, ClearingTotals>();
  for (const line of file.lines) byBatch.set(line.batchId, addLine(byBatch.get(line.batchId) ?? ZERO_TOTALS, line));
  for (const [batchId, stated] of file.batchTotals) {
    for (const m of totalsMismatches(stated, byBatch.get(batchId) ?? ZERO_TOTALS)) {
      problems.push(`${batchId}: ${m.field} stated ${m.expected}, lines give ${m.actual}`);
    }
  }
  for (const batchId of byBatch.keys()) if (!file.batchTotals.has(batchId)) problems.push(`${batchId}: lines without a total row`);
  if (file.dayTotal) {
    const sum = [...file.batchTotals.values()].reduce(addTotals, ZERO_TOTALS);
    for (const m of totalsMismatches(file.dayTotal, sum)) problems.push(`day total: ${m.field} stated ${m.expected}, batches give ${m.actual}`);
  }
  return problems;
}

/** JSON numbers are exact below 2^53; a total beyond that must never be rounded into an event. */
export function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < 0n) throw new Error(`${value} is outside the exact range of a JSON number`);
  return Number(value);
}

/**
 * A fen total as events and the API carry it (FenTotal in libs/contracts): a JSON number while
 * that is exact, its decimal digits beyond 2^53 - 1, so a batch of any size closes and is reported
 * to the fen.
 */
export function fenTotal(value: bigint): number | string {
  if (value < 0n) throw new Error(`a fen total cannot be negative: ${value}`);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? value.toString() : Number(value);
}
