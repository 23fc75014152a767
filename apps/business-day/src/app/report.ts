import { describeSchedule } from './expected-clearing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayYuan } from '@pos/money';
import { distinctEvents, InvariantResult, reconciliationPathOf, succeededPaymentsOf } from './invariants';
import { ObservedBatch, ObservedEvent, Observation } from './observation';
import { DayPlan } from './plan';

export interface DayReport {
  readonly plan: DayPlan;
  readonly observation: Observation;
  readonly invariants: readonly InvariantResult[];
  /** Absolute instant of T1 (the first cutoff), ms since the epoch. */
  readonly firstCutoffAt: number;
  readonly cutoffs: readonly number[];
  readonly startedAt: number;
  readonly finishedAt: number;
}

/**
 * One table of the report. report.txt and report.html are both drawn from these, so the two files
 * cannot tell different stories: the text lays the rows out in columns, the HTML as <table>s.
 */
export interface ReportTable {
  /** The HTML id of the table. */
  readonly id: string;
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Columns of counts and amounts, right-aligned. */
  readonly numeric: readonly number[];
  /** Said instead of an empty table. */
  readonly whenEmpty?: string;
  /** A sentence under the table. */
  readonly note?: string;
}

function tally(values: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function paymentOutcomes(observation: Observation): [string, number][] {
  return tally(paymentEvents(observation).map(paymentOutcomeOf));
}

export function voidOutcomes(observation: Observation): [string, number][] {
  return tally(
    observation.events
      .filter((e) => e.topic === 'voids.events.v1' && (e.type === 'pos.void.accepted' || e.type === 'pos.void.rejected'))
      .map((e) => (e.type === 'pos.void.accepted' ? 'ACCEPTED' : `REJECTED ${String(e.data?.['reason'])} → ${String(e.data?.['remedy'])}`)),
  );
}

const paymentEvents = (observation: Observation) =>
  observation.events.filter((e) => e.topic === 'payments.events.v1' && e.type && e.type !== 'pos.payment.pending');
const paymentOutcomeOf = (e: ObservedEvent) => `${String(e.data?.['channel'])} ${String(e.type).replace('pos.payment.', '')}`;

/** Exact total of fen amounts as a bigint, or undefined when one of them is not an integer number of fen. */
function exactTotal(amounts: readonly unknown[]): bigint | undefined {
  let total = 0n;
  for (const amount of amounts) {
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount)) return undefined;
    total += BigInt(amount);
  }
  return total;
}

/** The operator's actions of the day, each with its times (docs/operations.md). */
export function operatorLines(observation: Observation): string[] {
  const at = (instant: number) => new Date(instant).toISOString();
  const { published, heldBack, replays } = observation.operator;
  return [
    ...published.map((p) => `cutoff change: ${describeSchedule([p.version])} published ${at(p.startedAt)} → ${at(p.doneAt)} (clearing restarted with the version appended)`),
    ...heldBack.map((h) => `clearing held still ${at(h.from)} → ${at(h.until)}: events of that span reached it afterwards`),
    ...replays.map(
      (r) =>
        `parked void ${r.idempotencyKey}: dead letter ${r.deadLetter ?? '-'} of batch ${r.batchId ?? '-'}, seen CLOSING ${r.closingSeenAt === undefined ? 'never' : at(r.closingSeenAt)}, ` +
        `replayed ${r.replayedAt === undefined ? 'never' : at(r.replayedAt)}${r.problem ? ` (${r.problem})` : ''}${r.cliOutput ? `; ops CLI: ${r.cliOutput.trim().split('\n').join(' | ')}` : ''}`,
    ),
  ];
}

const yuanOf = (total: bigint | undefined) => (total === undefined ? 'unreadable amount' : displayYuan(total));
const fenOf = (total: bigint | undefined) => (total === undefined ? 'unreadable amount' : String(total));
const count = (n: number | bigint) => n.toLocaleString('en-US');

function totalsTable(observation: Observation): ReportTable {
  const succeeded = [...succeededPaymentsOf(observation.events).values()];
  const closed = observation.batches.filter((b) => b.totals !== null);
  const paid = exactTotal(succeeded.map((p) => p.amountFen));
  const cleared = exactTotal(closed.map((b) => b.totals?.totalFen));
  const voided = exactTotal(closed.map((b) => b.totals?.voidedFen));
  const sumOf = (pick: (b: ObservedBatch) => number | undefined) => closed.reduce((n, b) => n + (pick(b) ?? 0), 0);
  return {
    id: 'totals',
    title: 'Money of the day',
    headers: ['', 'payments', 'amount', 'exact fen'],
    numeric: [1, 2, 3],
    rows: [
      ['succeeded (payments.events.v1)', count(succeeded.length), yuanOf(paid), fenOf(paid)],
      ['cleared by the closed batches (clearing API)', count(sumOf((b) => b.totals?.paymentCount)), yuanOf(cleared), fenOf(cleared)],
      ['voided in the closed batches (clearing API)', count(sumOf((b) => b.totals?.voidedCount)), yuanOf(voided), fenOf(voided)],
    ],
  };
}

function paymentsTable(observation: Observation): ReportTable {
  const byOutcome = new Map<string, unknown[]>();
  for (const event of paymentEvents(observation)) {
    const amounts = byOutcome.get(paymentOutcomeOf(event)) ?? [];
    amounts.push(event.data?.['amountFen']);
    byOutcome.set(paymentOutcomeOf(event), amounts);
  }
  return {
    id: 'payments',
    title: 'Payments by channel and outcome',
    headers: ['channel / outcome', 'events', 'amount'],
    numeric: [1, 2],
    rows: paymentOutcomes(observation).map(([outcome, n]) => [outcome, count(n), yuanOf(exactTotal(byOutcome.get(outcome) ?? []))]),
  };
}

function batchesTable(observation: Observation): ReportTable {
  return {
    id: 'batches',
    title: 'Settlement batches',
    headers: ['batch', 'state', 'closed by', 'payments', 'total', 'voided', 'voided amount', 'reconciliation file (read from disk)'],
    numeric: [3, 4, 5, 6],
    rows: observation.batches.map((b) => [
      b.batchId,
      b.state,
      b.closeReason ?? '',
      b.totals ? count(b.totals.paymentCount) : '',
      b.totals ? displayYuan(b.totals.totalFen) : '',
      b.totals ? count(b.totals.voidedCount) : '',
      b.totals ? displayYuan(b.totals.voidedFen) : '',
      reconciliationPathOf(observation, b.batchId) ?? '',
    ]),
  };
}

/** The report's tables, in the order both files show them. */
export function reportTables(report: DayReport): ReportTable[] {
  const { observation } = report;
  const seconds = observation.events.length - distinctEvents(observation.events).length;
  return [
    totalsTable(observation),
    paymentsTable(observation),
    { id: 'voids', title: 'Voids by decision and reason', headers: ['decision', 'count'], numeric: [1], rows: voidOutcomes(observation).map(([decision, n]) => [decision, count(n)]), whenEmpty: '(none)' },
    {
      ...batchesTable(observation),
      note: `Events on the topics: ${observation.events.length}, of which ${seconds} were second deliveries of the same event id (absorbed by the consumers' inboxes)`,
    },
    {
      id: 'dead-letters',
      title: 'Dead-letter topics (every entry is a bad message sent on purpose)',
      headers: ['topic / reason', 'count'],
      numeric: [1],
      rows: tally(observation.events.filter((e) => e.topic.endsWith('.dlq')).map((e) => `${e.topic} ${e.headers['dlq_reason']}`)).map(([reason, n]) => [reason, count(n)]),
      whenEmpty: '(empty)',
    },
    { id: 'operator', title: "Operator's actions", headers: ['action'], numeric: [], rows: operatorLines(observation).map((line) => [line]), whenEmpty: '(none in this day)' },
  ];
}

function headingOf(report: DayReport): string[] {
  const { plan, observation } = report;
  return [
    `Simulated business day: seed ${plan.options.seed}, ${plan.merchants.length} merchants, ${plan.options.payments} payments, cutoff schedule ${describeSchedule(observation.schedule)}`,
    `Run ${new Date(report.startedAt).toISOString()} → ${new Date(report.finishedAt).toISOString()} (${Math.round((report.finishedAt - report.startedAt) / 1000)} s)`,
  ];
}

function verdictOf(invariants: readonly InvariantResult[]): string {
  const failed = invariants.filter((i) => !i.passed).length;
  return failed === 0 ? 'All invariants PASS.' : `${failed} invariant(s) FAIL.`;
}

function textTable(table: ReportTable): string {
  if (table.rows.length === 0 && table.whenEmpty !== undefined) return table.whenEmpty;
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (table.numeric.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

export function renderText(report: DayReport): string {
  return [
    ...headingOf(report),
    ...reportTables(report).flatMap((table) => ['', table.title, textTable(table), ...(table.note ? ['', table.note] : [])]),
    '',
    'Invariants',
    ...report.invariants.flatMap((i) => [
      `${i.passed ? 'PASS' : 'FAIL'}  ${i.name}: ${i.summary}`,
      `        compared: ${i.sources.join(' ↔ ')}`,
      ...i.problems.map((p) => `        ${p}`),
    ]),
    '',
    verdictOf(report.invariants),
  ].join('\n');
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The day as a picture: one lane per merchant, payments, voids and decisions as marks, cutoffs as lines. */
export function renderTimeline(report: DayReport): string {
  const { plan, observation } = report;
  const width = 1100;
  const laneHeight = 46;
  const left = 90;
  const top = 30;
  const height = top + plan.merchants.length * laneHeight + 40;
  const from = report.startedAt;
  const to = Math.max(report.finishedAt, from + 1);
  const x = (t: number) => left + ((t - from) / (to - from)) * (width - left - 20);
  const lane = new Map(plan.merchants.map((m, i) => [m, top + i * laneHeight + laneHeight / 2]));
  const marks: string[] = [];
  for (const cutoff of report.cutoffs) {
    if (cutoff < from || cutoff > to) continue;
    marks.push(`<line x1="${x(cutoff)}" y1="${top - 10}" x2="${x(cutoff)}" y2="${height - 30}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
    // Near the right edge the label goes to the left of its line, so it is not cut off.
    const label = x(cutoff) > width - 140 ? `x="${x(cutoff) - 3}" text-anchor="end"` : `x="${x(cutoff) + 3}"`;
    marks.push(`<text ${label} y="${top - 14}" font-size="10" fill="#c0392b">cutoff ${new Date(cutoff).toISOString().slice(11, 19)}Z</text>`);
  }
  for (const event of observation.events) {
    const merchant = String(event.data?.['merchantId'] ?? event.key ?? '');
    const y = lane.get(merchant);
    if (y === undefined || event.timestamp < from || event.timestamp > to) continue;
    const cx = x(event.timestamp);
    if (event.type === 'pos.payment.succeeded') marks.push(`<circle cx="${cx}" cy="${y - 10}" r="2.5" fill="#2980b9"><title>payment ${escape(String(event.data?.['outTradeNo']))}</title></circle>`);
    else if (event.type === 'pos.payment.failed' || event.type === 'pos.payment.reversed') marks.push(`<circle cx="${cx}" cy="${y - 10}" r="2.5" fill="#7f8c8d"><title>${escape(event.type)}</title></circle>`);
    else if (event.type === 'pos.void.accepted') marks.push(`<rect x="${cx - 3}" y="${y - 3}" width="6" height="6" fill="#27ae60"><title>void accepted</title></rect>`);
    else if (event.type === 'pos.void.rejected') marks.push(`<rect x="${cx - 3}" y="${y - 3}" width="6" height="6" fill="#e67e22"><title>void rejected ${escape(String(event.data?.['reason']))}</title></rect>`);
    else if (event.type === 'pos.clearing.batch.closed') marks.push(`<path d="M${cx} ${y + 6} l5 9 h-10 z" fill="#8e44ad"><title>batch closed ${escape(String(event.data?.['batchId']))}</title></path>`);
    else if (event.topic.endsWith('.dlq')) marks.push(`<text x="${cx - 3}" y="${y + 18}" font-size="11" fill="#c0392b">✕<title>dead letter ${escape(event.headers['dlq_reason'] ?? '')}</title></text>`);
  }
  const lanes = plan.merchants.map((m) => {
    const y = lane.get(m) ?? 0;
    return `<text x="8" y="${y + 4}" font-size="12">${escape(m)}</text><line x1="${left}" y1="${y}" x2="${width - 20}" y2="${y}" stroke="#ecf0f1"/>`;
  });
  const legend = [
    ['#2980b9', 'payment succeeded'],
    ['#7f8c8d', 'payment failed/reversed'],
    ['#27ae60', 'void accepted'],
    ['#e67e22', 'void rejected'],
    ['#8e44ad', 'batch closed'],
    ['#c0392b', 'cutoff / dead letter'],
  ].map(([colour, label], i) => `<rect x="${left + i * 160}" y="${height - 18}" width="10" height="10" fill="${colour}"/><text x="${left + i * 160 + 14}" y="${height - 9}" font-size="11">${label}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${[...lanes, ...marks, ...legend].join('')}</svg>`;
}

export function renderHtml(report: DayReport): string {
  const cell = (tag: 'td' | 'th', text: string, numeric: boolean) => `<${tag}${numeric ? ' class="num"' : ''}>${escape(text)}</${tag}>`;
  const htmlTable = (table: ReportTable) => {
    const body =
      table.rows.length === 0 && table.whenEmpty !== undefined
        ? `<p id="${table.id}">${escape(table.whenEmpty)}</p>`
        : `<table id="${table.id}"><thead><tr>${table.headers.map((h, i) => cell('th', h, table.numeric.includes(i))).join('')}</tr></thead><tbody>${table.rows
            .map((row) => `<tr>${row.map((c, i) => cell('td', c, table.numeric.includes(i))).join('')}</tr>`)
            .join('')}</tbody></table>`;
    return `<h3>${escape(table.title)}</h3>${body}${table.note ? `<p>${escape(table.note)}</p>` : ''}`;
  };
  const verdicts = report.invariants
    .map(
      (i) =>
        `<tr><td class="${i.passed ? 'pass' : 'fail'}">${i.passed ? 'PASS' : 'FAIL'}</td><td>${escape(i.name)}</td><td>${escape(i.sources.join(' ↔ '))}</td><td>${escape(i.summary)}${
          i.problems.length ? `<ul>${i.problems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : ''
        }</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Business day report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin-bottom:1em}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #ecf0f1;vertical-align:top}.num{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#27ae60;font-weight:bold}.fail{color:#c0392b;font-weight:bold}ul{margin:0;padding-left:1.2em;font-size:smaller}</style>
</head><body><h1>Simulated business day</h1>
${headingOf(report).map((line) => `<p>${escape(line)}</p>`).join('\n')}
<h2>Invariants</h2><table id="invariants"><thead><tr><th>verdict</th><th>invariant</th><th>compared</th><th>result</th></tr></thead><tbody>${verdicts}</tbody></table>
<p id="verdict" class="${report.invariants.every((i) => i.passed) ? 'pass' : 'fail'}">${escape(verdictOf(report.invariants))}</p>
<h2>Timeline</h2>${renderTimeline(report)}
<h2>Details</h2>
${reportTables(report).map(htmlTable).join('\n')}
</body></html>`;
}

/** Writes report.txt and report.html into `dir`; returns their paths and the text. */
export function writeReport(dir: string, report: DayReport): { text: string; textPath: string; htmlPath: string } {
  mkdirSync(dir, { recursive: true });
  const text = renderText(report);
  const textPath = join(dir, 'report.txt');
  const htmlPath = join(dir, 'report.html');
  writeFileSync(textPath, `${text}\n`);
  writeFileSync(htmlPath, renderHtml(report));
  return { text, textPath, htmlPath };
}
