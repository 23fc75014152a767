import { describeSchedule } from './expected-clearing';
import { distinctEvents, InvariantResult, reconciliationPathOf } from './invariants';
import { ObservedBatch, Observation } from './observation';
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

function table(headers: string[], rows: (string | number)[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function tally(values: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function paymentOutcomes(observation: Observation): [string, number][] {
  return tally(
    observation.events
      .filter((e) => e.topic === 'payments.events.v1' && e.type && e.type !== 'pos.payment.pending')
      .map((e) => `${String(e.data?.['channel'])} ${String(e.type).replace('pos.payment.', '')}`),
  );
}

export function voidOutcomes(observation: Observation): [string, number][] {
  return tally(
    observation.events
      .filter((e) => e.topic === 'voids.events.v1' && (e.type === 'pos.void.accepted' || e.type === 'pos.void.rejected'))
      .map((e) => (e.type === 'pos.void.accepted' ? 'ACCEPTED' : `REJECTED ${String(e.data?.['reason'])} → ${String(e.data?.['remedy'])}`)),
  );
}

function batchRows(observation: Observation): (string | number)[][] {
  return observation.batches.map((b: ObservedBatch) => [
    b.batchId,
    b.state,
    b.closeReason ?? '',
    b.totals?.paymentCount ?? '',
    b.totals?.totalFen ?? '',
    b.totals ? `${b.totals.voidedCount}/${b.totals.voidedFen}` : '',
    reconciliationPathOf(observation, b.batchId) ?? '',
  ]);
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

export function renderText(report: DayReport): string {
  const { plan, observation, invariants } = report;
  const failed = invariants.filter((i) => !i.passed).length;
  const deadLetters = tally(observation.events.filter((e) => e.topic.endsWith('.dlq')).map((e) => `${e.topic} ${e.headers['dlq_reason']}`));
  return [
    `Simulated business day: seed ${plan.options.seed}, ${plan.merchants.length} merchants, ${plan.options.payments} payments, cutoff schedule ${describeSchedule(observation.schedule)}`,
    `Run ${new Date(report.startedAt).toISOString()} → ${new Date(report.finishedAt).toISOString()} (${Math.round((report.finishedAt - report.startedAt) / 1000)} s)`,
    '',
    'Payments by channel and outcome',
    table(['channel / outcome', 'count'], paymentOutcomes(observation)),
    '',
    'Voids by decision and reason',
    table(['decision', 'count'], voidOutcomes(observation)),
    '',
    'Settlement batches',
    table(['batch', 'state', 'closed by', 'payments', 'total fen', 'voided n/fen', 'reconciliation file (read from disk)'], batchRows(observation)),
    '',
    `Events on the topics: ${observation.events.length}, of which ${observation.events.length - distinctEvents(observation.events).length} were second deliveries of the same event id (absorbed by the consumers' inboxes)`,
    '',
    'Dead-letter topics (every entry is a bad message sent on purpose)',
    deadLetters.length ? table(['topic / reason', 'count'], deadLetters) : '(empty)',
    '',
    "Operator's actions",
    operatorLines(observation).join('\n') || '(none in this day)',
    '',
    'Invariants',
    ...invariants.flatMap((i) => [
      `${i.passed ? 'PASS' : 'FAIL'}  ${i.name}: ${i.summary}`,
      `        compared: ${i.sources.join(' ↔ ')}`,
      ...i.problems.map((p) => `        ${p}`),
    ]),
    '',
    failed === 0 ? 'All invariants PASS.' : `${failed} invariant(s) FAIL.`,
  ].join('\n');
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

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
  const verdicts = report.invariants
    .map((i) => `<tr><td class="${i.passed ? 'pass' : 'fail'}">${i.passed ? 'PASS' : 'FAIL'}</td><td>${escape(i.name)}</td><td>${escape(i.sources.join(' ↔ '))}</td><td>${escape(i.summary)}${i.problems.map((p) => `<br><small>${escape(p)}</small>`).join('')}</td></tr>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Business day report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}td,th{padding:2px 8px;text-align:left}.pass{color:#27ae60;font-weight:bold}.fail{color:#c0392b;font-weight:bold}pre{background:#f7f7f7;padding:1em;overflow:auto}</style>
</head><body><h1>Simulated business day</h1>
<h2>Invariants</h2><table>${verdicts}</table>
<h2>Timeline</h2>${renderTimeline(report)}
<h2>Details</h2><pre>${escape(renderText(report))}</pre></body></html>`;
}
