import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayYuan } from '@pos/money';
import { reportTables, writeReport } from './app/report';
import { readReportInBrowser, RenderedReport } from './testing/report-browser';
import { reportFixture } from './testing/report-fixture';

/**
 * report.html as a reader sees it: the file the driver writes, opened in headless Chromium, its
 * tables read cell by cell from the laid-out page.
 */
describe('report.html in a browser', () => {
  const report = reportFixture();
  const dir = mkdtempSync(join(tmpdir(), 'pos-report-'));
  let page: RenderedReport;

  beforeAll(async () => {
    page = await readReportInBrowser(writeReport(dir, report).htmlPath);
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the totals in yuan, to the fen of the batches it was given', () => {
    const cleared = report.observation.batches.reduce((sum, b) => sum + BigInt(b.totals?.totalFen ?? 0), 0n);
    const paid = report.observation.events
      .filter((e) => e.type === 'pos.payment.succeeded')
      .reduce((sum, e) => sum + BigInt(Number(e.data?.['amountFen'])), 0n);
    const totals = page.tables['totals'];
    expect(totals.headers).toEqual(['', 'payments', 'amount', 'exact fen']);
    expect(totals.rows[0].slice(2)).toEqual([displayYuan(paid), String(paid)]);
    expect(totals.rows[1].slice(2)).toEqual([displayYuan(cleared), String(cleared)]);
    for (const row of totals.rows) expect(row[2]).toMatch(/^¥\d{1,3}(,\d{3})*\.\d{2}$/);
    expect(page.tables['batches'].rows.find((r) => r[0] === 'B-LARGEST')?.slice(3, 7)).toEqual(['1', '¥90,071,992,547,409.91', '1', '¥1,234.56']);
  });

  it('has one row per invariant with its PASS or FAIL, and the verdict', () => {
    const rows = page.tables['invariants'].rows;
    expect(rows.map((r) => [r[0], r[1]])).toEqual(report.invariants.map((i) => [i.passed ? 'PASS' : 'FAIL', i.name]));
    expect(rows).toHaveLength(14);
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['PASS', 'FAIL']));
    const failed = report.invariants.filter((i) => !i.passed);
    for (const invariant of failed) {
      const row = rows.find((r) => r[1] === invariant.name);
      for (const problem of invariant.problems) expect(row?.[3]).toContain(problem.trim());
    }
    expect(page.texts['verdict']).toBe(`${failed.length} invariant(s) FAIL.`);
  });

  it('lays out every detail table with the rows report.txt has', () => {
    for (const table of reportTables(report)) {
      if (table.rows.length === 0) {
        expect(page.texts[table.id]).toBe(table.whenEmpty);
        continue;
      }
      expect(page.tables[table.id]).toEqual({ headers: table.headers, rows: table.rows });
    }
  });

  it('shows markup in the data as text, never as markup', () => {
    expect(page.tables['dead-letters'].rows[0][0]).toBe('payments.commands.v1.dlq <script>alert("x")</script> & MALFORMED');
    expect(page.scripts).toBe(0);
  });
});
