import { parseReconciliationFile } from './reconciliation-csv';
import { planDay } from './plan';
import { renderHtml, renderText } from './report';

describe('reconciliation file', () => {
  it('reads payment lines by their header and the stated batch totals', () => {
    const csv = [
      'record_type,batch_id,clearing_date,merchant_id,terminal_id,channel,card_batch_no,voucher_no,payment_id,out_trade_no,channel_trade_no,succeeded_at,amount_fen,amount_yuan,status',
      'PAYMENT,B1,2026-11-27,M001,POS-1,WECHAT,,,p1,"O,1",W1,2026-11-27T10:00:00.000+08:00,500,5.00,CLEARED',
      'PAYMENT,B1,2026-11-27,M001,POS-1,WECHAT,,,p2,O2,W2,2026-11-27T10:00:01.000+08:00,300,3.00,VOIDED',
      'record_type,batch_id,payment_count,total_fen,voided_count,voided_fen',
      'BATCH_TOTAL,B1,1,500,1,300',
    ].join('\r\n');
    expect(parseReconciliationFile('f.csv', csv)).toEqual({
      path: 'f.csv',
      lines: [
        { batchId: 'B1', paymentId: 'p1', amountFen: 500, voided: false },
        { batchId: 'B1', paymentId: 'p2', amountFen: 300, voided: true },
      ],
      batchTotals: new Map([['B1', { paymentCount: 1, totalFen: 500, voidedCount: 1, voidedFen: 300 }]]),
      dayFile: false,
    });
  });

  it('refuses a file without the columns it needs', () => {
    expect(() => parseReconciliationFile('f.csv', 'record_type,batch_id\r\n')).toThrow(/f.csv: no payment_id column/);
  });
});

describe('report', () => {
  it('says PASS or FAIL per invariant and draws the timeline', () => {
    const plan = planDay({ seed: 1, merchants: 2, payments: 10, periodMs: 30_000 });
    const report = {
      plan,
      observation: {
        schedule: [{ periodMs: 30_000 }],
        operator: { published: [], heldBack: [], replays: [] },
        payments: new Map(),
        voids: new Map(),
        voidCommandsSentAt: new Map(),
        invalidRequests: [],
        settlements: [],
        events: [],
        batches: [{ batchId: 'B1', merchantId: 'M001', channel: 'WECHAT', terminalId: null, clearingDate: '2026-11-27', state: 'CLOSED', closeReason: 'CUTOFF', opensAt: '', closesAt: '', closedAt: '', totals: { paymentCount: 0, totalFen: 0, voidedCount: 0, voidedFen: 0 } }],
        files: [{ path: '/recon/2026-11-27/M001/batch_B1.csv', lines: [], batchTotals: new Map([['B1', { paymentCount: 0, totalFen: 0, voidedCount: 0, voidedFen: 0 }]]), dayFile: false }],
      },
      invariants: [
        { name: 'Never both voided and cleared', passed: true, sources: ['voids.events.v1', 'reconciliation files read from disk'], summary: 'ok', problems: [] },
        { name: 'Batch totals exact', passed: false, sources: ['payments.events.v1'], summary: 'off', problems: ['batch B1: 1 fen'] },
      ],
      firstCutoffAt: 30_000,
      cutoffs: [30_000, 60_000],
      startedAt: 10_000,
      finishedAt: 70_000,
    };
    const text = renderText(report);
    expect(text).toMatch(/PASS {2}Never both voided and cleared/);
    expect(text).toMatch(/FAIL {2}Batch totals exact/);
    expect(text).toMatch(/1 invariant\(s\) FAIL/);
    expect(text).toContain('compared: voids.events.v1 ↔ reconciliation files read from disk');
    expect(text).toMatch(/B1 +CLOSED .*\/recon\/2026-11-27\/M001\/batch_B1.csv/);
    const html = renderHtml(report);
    expect(html).toContain('<svg');
    expect(html).toContain('cutoff');
  });
});
