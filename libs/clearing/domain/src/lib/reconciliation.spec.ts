import fc from 'fast-check';
import {
  csvField,
  parseCsvRow,
  parseReconciliation,
  reconciliationHeader,
  ReconciliationLine,
  reconciliationLine,
  reconciliationProblems,
  reconciliationSummary,
  fenTotal,
  safeNumber,
  totalsMismatches,
  totalsOf,
} from './reconciliation';

const line = (over: Partial<ReconciliationLine> = {}): ReconciliationLine => ({
  batchId: 'M1:WECHAT:20261126T160000Z',
  clearingDate: '2026-11-27',
  merchantId: 'M1',
  terminalId: 'T1',
  channel: 'WECHAT',
  cardBatchNo: null,
  voucherNo: null,
  paymentId: '3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11',
  outTradeNo: 'ORDER-1',
  channelTradeNo: 'WX-1',
  succeededAt: new Date('2026-11-27T14:59:59.900Z'),
  amountFen: 1999,
  voided: false,
  ...over,
});

function render(lines: ReconciliationLine[]): string {
  const byBatch = new Map<string, ReconciliationLine[]>();
  for (const l of lines) byBatch.set(l.batchId, [...(byBatch.get(l.batchId) ?? []), l]);
  return (
    reconciliationHeader() +
    lines.map(reconciliationLine).join('') +
    reconciliationSummary([...byBatch].map(([batchId, ls]) => ({ batchId, totals: totalsOf(ls) })), byBatch.size !== 1)
  );
}

describe('reconciliation file (对账单)', () => {
  it('lists a voided payment under its original order number, outside the cleared totals', () => {
    const text = render([line(), line({ paymentId: '6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b', outTradeNo: 'ORDER-2', amountFen: 500, voided: true })]);
    expect(text.split('\r\n')[0]).toBe(
      'record_type,batch_id,clearing_date,merchant_id,terminal_id,channel,card_batch_no,voucher_no,payment_id,out_trade_no,channel_trade_no,succeeded_at,amount_fen,amount_yuan,status',
    );
    expect(text).toContain(',ORDER-2,WX-1,2026-11-27T22:59:59.900+08:00,500,5.00,VOIDED\r\n');
    expect(text).toContain('BATCH_TOTAL,M1:WECHAT:20261126T160000Z,1,1999,1,500\r\n');
    const parsed = parseReconciliation(text);
    expect(reconciliationProblems(parsed)).toEqual([]);
  });

  it('quotes fields that need it and reads them back', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 8 }), (fields) => {
        const text = fields.map(csvField).join(',');
        if (!fields.some((f) => /[\r\n]/.test(f))) expect(parseCsvRow(text)).toEqual(fields);
      }),
    );
  });

  it('totals in the file always equal the sum of its lines, to the fen', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            batch: fc.constantFrom('B1', 'B2', 'B3'),
            amountFen: fc.integer({ min: 1, max: 2 ** 40 }),
            voided: fc.boolean(),
            outTradeNo: fc.stringMatching(/^[A-Za-z0-9_\-|*]{1,32}$/),
          }),
          { maxLength: 60 },
        ),
        (rows) => {
          const lines = rows.map((r, i) => line({ batchId: r.batch, amountFen: r.amountFen, voided: r.voided, outTradeNo: r.outTradeNo, paymentId: `p${i}` }));
          const parsed = parseReconciliation(render(lines));
          expect(reconciliationProblems(parsed)).toEqual([]);
          const all = [...parsed.batchTotals.values()];
          const expected = totalsOf(lines);
          const fileTotal = parsed.dayTotal ?? all[0];
          if (lines.length > 0) expect(totalsMismatches(expected, fileTotal)).toEqual([]);
          expect(parsed.lines.map((l) => l.outTradeNo)).toEqual(lines.map((l) => l.outTradeNo));
        },
      ),
    );
  });

  it('reports a file whose totals disagree with its lines', () => {
    const text = render([line()]).replace('BATCH_TOTAL,M1:WECHAT:20261126T160000Z,1,1999', 'BATCH_TOTAL,M1:WECHAT:20261126T160000Z,1,1998');
    expect(reconciliationProblems(parseReconciliation(text))).toEqual(['M1:WECHAT:20261126T160000Z: totalFen stated 1998, lines give 1999']);
  });

  it('never rounds a total into a JSON number', () => {
    expect(safeNumber(9_007_199_254_740_991n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => safeNumber(9_007_199_254_740_992n)).toThrow();
  });

  it('carries a fen total beyond 2^53 - 1 exactly, as its decimal digits', () => {
    expect(fenTotal(0n)).toBe(0);
    expect(fenTotal(9_007_199_254_740_991n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(fenTotal(9_007_199_254_740_993n)).toBe('9007199254740993');
    expect(fenTotal(123_456_789_012_345_678_901_234_567n)).toBe('123456789012345678901234567');
    expect(() => fenTotal(-1n)).toThrow();
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (total) => expect(BigInt(fenTotal(total))).toBe(total)));
  });
});
