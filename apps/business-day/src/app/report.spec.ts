import { summariseReconciliation } from './reconciliation-csv';
import { planDay } from './plan';
import { renderHtml, renderText } from './report';

describe('reconciliation CSV summary', () => {
  it('adds up cleared lines and reads the stated batch total', () => {
    const csv = [
      'record_type,batch_id,clearing_date,merchant_id,terminal_id,channel,card_batch_no,voucher_no,payment_id,out_trade_no,channel_trade_no,succeeded_at,amount_fen,amount_yuan,status',
      'PAYMENT,B1,2026-11-27,M001,POS-1,WECHAT,,,p1,"O,1",W1,2026-11-27T10:00:00.000+08:00,500,5.00,CLEARED',
      'PAYMENT,B1,2026-11-27,M001,POS-1,WECHAT,,,p2,O2,W2,2026-11-27T10:00:01.000+08:00,300,3.00,VOIDED',
      'record_type,batch_id,payment_count,total_fen,voided_count,voided_fen',
      'BATCH_TOTAL,B1,1,500,1,300',
    ].join('\r\n');
    expect(summariseReconciliation('f.csv', 'B1', csv)).toEqual({ path: 'f.csv', clearedRows: 1, clearedFen: 500, voidedRows: 1, statedCount: 1, statedFen: 500 });
  });
});

describe('report', () => {
  it('says PASS or FAIL per invariant and draws the timeline', () => {
    const plan = planDay({ seed: 1, merchants: 2, payments: 10, periodMs: 30_000 });
    const report = {
      plan,
      observation: { payments: new Map(), voids: new Map(), invalidRequests: [], settlements: [], events: [], batches: [] },
      invariants: [
        { name: 'Never both voided and cleared', passed: true, summary: 'ok', problems: [] },
        { name: 'Batch totals exact', passed: false, summary: 'off', problems: ['batch B1: 1 fen'] },
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
    const html = renderHtml(report);
    expect(html).toContain('<svg');
    expect(html).toContain('cutoff');
  });
});
