import { DayPlan, PlannedMalformed, PlannedPayment, PlannedVoid } from './plan';
import { ObservedEvent, Observation } from './observation';

export interface InvariantResult {
  readonly name: string;
  readonly passed: boolean;
  readonly summary: string;
  /** The first few counter-examples, for a FAIL. */
  readonly problems: readonly string[];
}

const FINAL_PAYMENT_EVENTS = new Set(['pos.payment.succeeded', 'pos.payment.failed', 'pos.payment.reversed']);
const MAX_PROBLEMS = 8;

function result(name: string, problems: string[], summary: string): InvariantResult {
  return { name, passed: problems.length === 0, summary, problems: problems.slice(0, MAX_PROBLEMS) };
}

function ofType(events: readonly ObservedEvent[], topic: string, ...types: string[]): ObservedEvent[] {
  return events.filter((e) => e.topic === topic && e.type !== undefined && types.includes(e.type));
}

const field = (event: ObservedEvent, name: string): unknown => event.data?.[name];

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

/** Invariant 1 of DOMAIN.md: no payment is both voided and cleared. */
function neverBoth(observation: Observation): InvariantResult {
  const voided = new Set(ofType(observation.events, 'voids.events.v1', 'pos.void.accepted').map((e) => String(field(e, 'paymentId'))));
  const cleared = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.payment.cleared').map((e) => String(field(e, 'paymentId')));
  const both = cleared.filter((id) => voided.has(id));
  return result(
    'Never both voided and cleared',
    both.map((id) => `payment ${id} has an accepted void and was cleared`),
    `${voided.size} voided, ${new Set(cleared).size} cleared, ${both.length} both`,
  );
}

/** Invariant 4: each closed batch's totals equal its cleared payments, its API view and its file. */
function totalsExact(observation: Observation): InvariantResult {
  const problems: string[] = [];
  const cleared = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.payment.cleared');
  const perBatch = new Map<string, { count: number; fen: number }>();
  for (const event of cleared) {
    const batchId = String(field(event, 'batchId'));
    const sum = perBatch.get(batchId) ?? { count: 0, fen: 0 };
    perBatch.set(batchId, { count: sum.count + 1, fen: sum.fen + Number(field(event, 'amountFen')) });
  }
  const clearedTwice = [...countBy(cleared, (e) => String(field(e, 'paymentId')))].filter(([, n]) => n > 1);
  for (const [paymentId, n] of clearedTwice) problems.push(`payment ${paymentId} cleared ${n} times`);
  const closedEvents = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.batch.closed');
  for (const [batchId, n] of countBy(closedEvents, (e) => String(field(e, 'batchId')))) {
    if (n > 1) problems.push(`batch ${batchId} closed ${n} times`);
  }
  for (const closed of closedEvents) {
    const batchId = String(field(closed, 'batchId'));
    const expected = perBatch.get(batchId) ?? { count: 0, fen: 0 };
    if (field(closed, 'paymentCount') !== expected.count || field(closed, 'totalFen') !== expected.fen) {
      problems.push(`batch ${batchId}: closed with ${String(field(closed, 'paymentCount'))}/${String(field(closed, 'totalFen'))} fen, cleared events add up to ${expected.count}/${expected.fen} fen`);
    }
    const view = observation.batches.find((b) => b.batchId === batchId);
    if (!view?.totals) {
      problems.push(`batch ${batchId}: closed on Kafka but the clearing API shows ${view ? view.state : 'nothing'}`);
      continue;
    }
    if (view.totals.paymentCount !== expected.count || view.totals.totalFen !== expected.fen) {
      problems.push(`batch ${batchId}: API totals ${view.totals.paymentCount}/${view.totals.totalFen} differ from ${expected.count}/${expected.fen}`);
    }
    const file = view.reconciliation;
    if (!file) problems.push(`batch ${batchId}: no reconciliation file`);
    else if (file.clearedRows !== expected.count || file.clearedFen !== expected.fen || file.statedCount !== expected.count || file.statedFen !== expected.fen) {
      problems.push(`batch ${batchId}: file ${file.path} rows ${file.clearedRows}/${file.clearedFen}, trailer ${file.statedCount}/${file.statedFen}, expected ${expected.count}/${expected.fen}`);
    }
  }
  const fen = closedEvents.reduce((sum, e) => sum + Number(field(e, 'totalFen')), 0);
  return result('Batch totals exact (events, API and files agree to the fen)', problems, `${closedEvents.length} batches closed, ${cleared.length} payments cleared, ${fen} fen`);
}

/** Accepted voids are excluded from every total; voided payments appear in the file as voided. */
function voidsExcluded(observation: Observation): InvariantResult {
  const problems: string[] = [];
  const accepted = ofType(observation.events, 'voids.events.v1', 'pos.void.accepted');
  const perPayment = countBy(accepted, (e) => String(field(e, 'paymentId')));
  for (const [paymentId, n] of perPayment) if (n > 1) problems.push(`payment ${paymentId} has ${n} accepted voids`);
  const closedBatches = new Set(ofType(observation.events, 'clearing.events.v1', 'pos.clearing.batch.closed').map((e) => String(field(e, 'batchId'))));
  const voidedInClosed = accepted.filter((e) => closedBatches.has(String(field(e, 'batchId')))).length;
  return result('Every accepted void is excluded, at most one per payment', problems, `${accepted.length} accepted voids, ${voidedInClosed} of them in batches closed during the run`);
}

function answersAgree(answers: readonly { status: number; body: Record<string, unknown> }[]): boolean {
  const first = answers[0];
  return answers.every((a) => a.status === first.status && a.body['voidId'] === first.body['voidId'] && a.body['decision'] === first.body['decision']);
}

/** Rejections that depend only on the decision's time: correct for any decision at or after the deadline. */
const PAST_DEADLINE = new Set(['CUTOFF_PASSED', 'VOID_WINDOW_EXPIRED']);
/** Rejections for facts the void service had not learnt yet (remedy RETRY_LATER): correct for a read before they arrived. */
const NOT_YET_KNOWN = new Set(['PAYMENT_NOT_FOUND', 'PAYMENT_PENDING']);

/**
 * Two different void requests for one payment at the same instant (the answers to the first of
 * each): never both accepted. If one is accepted, the other is ALREADY_VOIDED, except where the
 * two were decided on either side of a moment that changed the answer:
 * - the cutoff (or the end of the void window) fell between them, and the one decided at or after
 *   the accepted one's deadline is rightly CUTOFF_PASSED (or VOID_WINDOW_EXPIRED);
 * - the payment's success reached the void service between them, and the one that read before it
 *   is rightly PAYMENT_NOT_FOUND or PAYMENT_PENDING, with RETRY_LATER.
 * Both may be refused for the same other reason (e.g. the cutoff passed before either).
 */
export function doubleVoidProblem(pair: readonly (Record<string, unknown> | undefined)[]): string | undefined {
  const accepted = pair.filter((body): body is Record<string, unknown> => body?.['decision'] === 'ACCEPTED');
  if (accepted.length !== 1) return accepted.length > 1 ? `${accepted.length} accepted` : undefined;
  const winner = accepted[0];
  const other = pair.find((body) => body !== winner);
  const reason = String(other?.['reason'] ?? other?.['decision'] ?? 'no answer');
  if (reason === 'ALREADY_VOIDED') return undefined;
  if (PAST_DEADLINE.has(reason) && Date.parse(String(other?.['decidedAt'])) >= Date.parse(String(winner['deadline']))) return undefined;
  if (NOT_YET_KNOWN.has(reason) && other?.['remedy'] === 'RETRY_LATER') return undefined;
  return `1 accepted, the other ${reason} (remedy ${String(other?.['remedy'])}) at ${String(other?.['decidedAt'])}, the accepted one's deadline ${String(winner['deadline'])}`;
}

/** Invariant 2: every void request decided exactly once, retries included. */
function decidedOnce(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const decisions = ofType(observation.events, 'voids.events.v1', 'pos.void.accepted', 'pos.void.rejected');
  const keyOf = (e: ObservedEvent) => `${String(field(e, 'merchantId'))}/${String(field(e, 'idempotencyKey'))}`;
  const byKey = countBy(decisions, keyOf);
  const voids = plan.steps.filter((s): s is PlannedVoid => s.kind === 'void');
  for (const planned of voids) {
    const keys = planned.variant === 'DOUBLE' ? [planned.idempotencyKey, `${planned.idempotencyKey}-b`] : [planned.idempotencyKey];
    for (const key of keys) {
      const n = byKey.get(`${planned.merchantId}/${key}`) ?? 0;
      if (n !== 1) {
        const seen = decisions.filter((e) => keyOf(e) === `${planned.merchantId}/${key}`).map((e) => `${String(e.type)} ${String(field(e, 'voidId'))}`);
        problems.push(`void ${key} (${planned.variant}) has ${n} decision events: ${seen.join(', ')}`);
      }
      const answers = observation.voids.get(key) ?? [];
      if (planned.variant !== 'VIA_KAFKA' && answers.length === 0) problems.push(`void ${key} got no HTTP answer`);
      if (answers.length > 1 && !answersAgree(answers)) problems.push(`void ${key}: retries got different answers`);
    }
    if (planned.variant === 'DOUBLE') {
      const problem = doubleVoidProblem(keys.map((k) => observation.voids.get(k)?.[0]?.body));
      if (problem) problems.push(`double void on ${planned.payment.outTradeNo}: ${problem}`);
    }
  }
  return result('Every void request decided exactly once', problems, `${voids.length} planned voids, ${decisions.length} decisions on Kafka`);
}

/** Invariant 6 for payments: every accepted request has exactly one final event; duplicates made one payment. */
function paymentsComplete(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const finals = observation.events.filter((e) => e.topic === 'payments.events.v1' && e.type !== undefined && FINAL_PAYMENT_EVENTS.has(e.type));
  const finalsByOrder = countBy(finals, (e) => `${String(field(e, 'merchantId'))}/${String(field(e, 'outTradeNo'))}`);
  const payments = plan.steps.filter((s): s is PlannedPayment => s.kind === 'payment');
  let duplicates = 0;
  for (const payment of payments) {
    const n = finalsByOrder.get(`${payment.merchantId}/${payment.outTradeNo}`) ?? 0;
    if (n !== 1) problems.push(`payment ${payment.outTradeNo} (${payment.via}) has ${n} final events`);
    const answers = observation.payments.get(payment.outTradeNo) ?? [];
    if (payment.via === 'HTTP' && !answers.some((a) => a.status === 200 || a.status === 201)) problems.push(`payment ${payment.outTradeNo} was not accepted over HTTP`);
    if (payment.duplicate) duplicates++;
    if (payment.duplicate === 'MODIFIED' && !answers.some((a) => a.status === 409)) problems.push(`modified duplicate of ${payment.outTradeNo} was not refused`);
    if (payment.duplicate === 'IDENTICAL' || payment.duplicate === 'CONCURRENT') {
      const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body['paymentId']));
      if (ids.size !== 1) problems.push(`duplicate ${payment.outTradeNo} made ${ids.size} payments`);
    }
  }
  return result('Every payment recorded once and published once', problems, `${payments.length} payments planned (${duplicates} sent twice), ${finals.length} final payment events`);
}

/** DLQ contents are exactly the bad messages the driver sent, each with the expected reason. */
function deadLettersExplained(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const dead = observation.events.filter((e) => e.topic.endsWith('.dlq'));
  const planned = plan.steps.filter((s): s is PlannedMalformed => s.kind === 'malformed');
  for (const malformed of planned) {
    const found = dead.filter((e) => e.headers['ce_id'] === malformed.eventId);
    if (found.length !== 1) problems.push(`${malformed.variant} message ${malformed.eventId} is ${found.length} times in the dead-letter topics`);
    else if (found[0].headers['dlq_reason'] !== malformed.expectedReason) problems.push(`${malformed.eventId}: reason ${found[0].headers['dlq_reason']}, expected ${malformed.expectedReason}`);
  }
  const known = new Set(planned.map((m) => m.eventId));
  for (const event of dead) {
    if (!known.has(event.headers['ce_id'] ?? '')) problems.push(`unexplained dead letter on ${event.topic}: ${event.headers['dlq_reason']}: ${event.headers['dlq_detail']}`);
  }
  return result('Dead-letter topics hold exactly the bad messages sent, with their reasons', problems, `${dead.length} dead letters, ${planned.length} bad messages sent`);
}

function edgeRefusals(observation: Observation): InvariantResult {
  const problems = observation.invalidRequests
    .filter(({ answer }) => answer.status !== 400 || typeof answer.body['code'] !== 'string')
    .map(({ variant, answer }) => `${variant}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
  return result('Bad input refused at the edge with a code', problems, `${observation.invalidRequests.length} bad requests, ${observation.invalidRequests.length - problems.length} refused with 400 and a code`);
}

/** Rejections whose outcome does not depend on timing came out as the rules say. */
function expectedOutcomes(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  let checked = 0;
  for (const step of plan.steps) {
    if (step.kind !== 'void' || !step.expected) continue;
    const answer = observation.voids.get(step.idempotencyKey)?.[0]?.body;
    if (!answer) continue;
    checked++;
    const reasons = step.expected.reasons;
    if (answer['decision'] !== step.expected.decision || (reasons && !reasons.includes(String(answer['reason'])))) {
      problems.push(`${step.variant} void of ${step.payment.outTradeNo}: got ${String(answer['decision'])} ${String(answer['reason'] ?? '')}, expected ${step.expected.decision} ${reasons?.join('|') ?? ''}`);
    }
  }
  return result('Voids with a known answer got it (cutoff, settlement, amount, supervisor, merchant)', problems, `${checked} voids checked`);
}

/**
 * The same event (same topic and `ce_id`) can be on a topic twice: a relay that published and then
 * crashed before marking its rows sends them again, and consumers absorb the copy through their
 * inbox. Effects are counted once per event id, so only a second *decision* or *clearing* with its
 * own id counts as doubled.
 */
export function distinctEvents(events: readonly ObservedEvent[]): ObservedEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => {
    if (!event.id) return true;
    const key = `${event.topic}/${event.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function checkInvariants(plan: DayPlan, observed: Observation): InvariantResult[] {
  const observation: Observation = { ...observed, events: distinctEvents(observed.events) };
  return [
    neverBoth(observation),
    voidsExcluded(observation),
    totalsExact(observation),
    decidedOnce(plan, observation),
    paymentsComplete(plan, observation),
    deadLettersExplained(plan, observation),
    edgeRefusals(observation),
    expectedOutcomes(plan, observation),
  ];
}
