import { parseReconciliationFile } from './reconciliation-csv';
import { planDay } from './plan';
import { displayYuan } from '@pos/money';
import { reportFixture } from '../testing/report-fixture';
import { renderHtml, renderText, reportTables } from './report';

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

  it('shows money in yuan as people read it, with the exact fen beside the totals', () => {
    const report = reportFixture();
    const totals = reportTables(report).find((t) => t.id === 'totals');
    const closed = report.observation.batches.map((b) => BigInt(b.totals?.totalFen ?? 0));
    const cleared = closed.reduce((a, b) => a + b, 0n);
    expect(cleared > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(totals?.rows[1]).toEqual(['cleared by the closed batches (clearing API)', String(report.observation.batches.reduce((n, b) => n + (b.totals?.paymentCount ?? 0), 0)), displayYuan(cleared), String(cleared)]);
    const largest = reportTables(report).find((t) => t.id === 'batches')?.rows.find((r) => r[0] === 'B-LARGEST');
    expect(largest?.slice(3, 7)).toEqual(['1', '¥90,071,992,547,409.91', '1', '¥1,234.56']);
  });

  it('writes report.txt and report.html from the same table rows, the HTML as escaped <table>s', () => {
    const report = reportFixture();
    const text = renderText(report);
    const html = renderHtml(report);
    const escaped = (cell: string) => cell.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    for (const table of reportTables(report)) {
      expect(text).toContain(table.title);
      if (table.rows.length === 0 && table.whenEmpty !== undefined) {
        expect(html).toContain(`<p id="${table.id}">${escaped(table.whenEmpty)}</p>`);
        continue;
      }
      expect(html).toContain(`<table id="${table.id}">`);
      for (const row of table.rows) {
        expect(text.split('\n').some((line) => row.every((cell) => line.includes(cell)))).toBe(true);
        expect(html).toContain(`<tr>${row.map((cell, i) => `<td${table.numeric.includes(i) ? ' class="num"' : ''}>${escaped(cell)}</td>`).join('')}</tr>`);
      }
    }
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; MALFORMED');
    expect(html).not.toContain('<pre>');
  });
});
