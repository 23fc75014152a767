import {
  ClearingGroup,
  cutoffWindowAt,
  describeSchedule,
  expectedClearingOf,
  groupKeyOf,
  PublishedSchedule,
  SucceededPayment,
  voidDeadlineOf,
} from './expected-clearing';
import { HttpAnswer, ObservedEvent, Observation } from './observation';
import { CLOSE_GRACE_MS, DayPlan, ExpectedAnswer, PlannedMalformed, PlannedOutcome, PlannedPayment, PlannedVoid } from './plan';
import { ReconciliationLine, StatedTotals } from './reconciliation-csv';

export interface InvariantResult {
  readonly name: string;
  readonly passed: boolean;
  /** What the check compared: the observations it set against each other. */
  readonly sources: readonly string[];
  readonly summary: string;
  /** The first few counter-examples, for a FAIL. */
  readonly problems: readonly string[];
}

const MAX_PROBLEMS = 8;

/** The observations the checks compare, as the report names them. */
export const Sources = {
  payments: 'payments.events.v1',
  voids: 'voids.events.v1',
  schedule: (schedule: PublishedSchedule) => `the day's cutoff schedule (${describeSchedule(schedule)})`,
  opened: 'pos.clearing.batch.opened (topic)',
  closed: 'pos.clearing.batch.closed (topic)',
  cleared: 'pos.clearing.payment.cleared (topic)',
  api: 'clearing HTTP API (GET /v1/batches)',
  files: 'reconciliation files read from disk',
  plan: 'the day plan',
  http: "the driver's HTTP answers and their times",
  deadLetters: 'dead-letter topics',
  replays: 'replayed copies on voids.events.v1 (dlq_replay_of)',
  gateClosed: 'pos.void.gate-closed (topic)',
  operator: "the driver's operator actions and their times",
} as const;

function result(name: string, sources: readonly string[], problems: string[], summary: string): InvariantResult {
  return { name, passed: problems.length === 0, sources, summary, problems: problems.slice(0, MAX_PROBLEMS) };
}

function ofType(events: readonly ObservedEvent[], topic: string, ...types: string[]): ObservedEvent[] {
  return events.filter((e) => e.topic === topic && e.type !== undefined && types.includes(e.type));
}

const field = (event: ObservedEvent, name: string): unknown => event.data?.[name];
const text = (event: ObservedEvent, name: string): string => String(field(event, name));

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(keyOf(item)) ?? [];
    list.push(item);
    groups.set(keyOf(item), list);
  }
  return groups;
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const orderKey = (merchantId: string, outTradeNo: string) => `${merchantId}/${outTradeNo}`;
const fenOf = (totals: { count: number; fen: number }) => `${totals.count}/${totals.fen} fen`;

/** Succeeded payments as payments.events.v1 announced them, by payment id (the first announcement stands). */
export function succeededPaymentsOf(events: readonly ObservedEvent[]): Map<string, SucceededPayment> {
  const payments = new Map<string, SucceededPayment>();
  for (const event of ofType(events, 'payments.events.v1', 'pos.payment.succeeded')) {
    const paymentId = text(event, 'paymentId');
    if (payments.has(paymentId)) continue;
    const card = field(event, 'card') as { batchNo?: string } | undefined;
    payments.set(paymentId, {
      paymentId,
      merchantId: text(event, 'merchantId'),
      terminalId: text(event, 'terminalId'),
      channel: text(event, 'channel'),
      amountFen: Number(field(event, 'amountFen')),
      outTradeNo: text(event, 'outTradeNo'),
      succeededAt: Date.parse(text(event, 'succeededAt')),
      ...(card?.batchNo ? { cardBatchNo: card.batchNo } : {}),
    });
  }
  return payments;
}

/** A batch as its own pos.clearing.batch.closed event describes it. */
interface ClosedBatch {
  readonly batchId: string;
  readonly group: ClearingGroup;
  readonly paymentCount: number;
  readonly totalFen: number;
  readonly voidedCount: number;
  readonly voidedFen: number;
}

function closedBatchOf(event: ObservedEvent): ClosedBatch {
  const optional = (name: string) => (field(event, name) === undefined ? {} : { [name]: text(event, name) });
  return {
    batchId: text(event, 'batchId'),
    group: { merchantId: text(event, 'merchantId'), channel: text(event, 'channel'), clearingDate: text(event, 'clearingDate'), ...optional('terminalId'), ...optional('batchNo') },
    paymentCount: Number(field(event, 'paymentCount')),
    totalFen: Number(field(event, 'totalFen')),
    voidedCount: Number(field(event, 'voidedCount')),
    voidedFen: Number(field(event, 'voidedFen')),
  };
}

/** What one file says about one batch: its lines and its stated total. */
interface BatchInFile {
  readonly path: string;
  readonly dayFile: boolean;
  readonly lines: readonly ReconciliationLine[];
  readonly stated?: StatedTotals;
}

/** The day's facts every check draws on, gathered once. */
interface Facts {
  readonly succeeded: ReadonlyMap<string, SucceededPayment>;
  readonly succeededByOrder: ReadonlyMap<string, SucceededPayment>;
  readonly accepted: readonly ObservedEvent[];
  /** Payments of accepted voids whose exclusion stands: the channel did not refuse them (ADR 0008). */
  readonly voided: ReadonlySet<string>;
  /** Payments of accepted voids the channel refused for good: not voided, cleared with their batch. */
  readonly refused: ReadonlySet<string>;
  readonly closedEvents: readonly ObservedEvent[];
  readonly closed: ReadonlyMap<string, ClosedBatch>;
  /** By batch id: every file (its own and its merchant's day file) that lists or totals it. */
  readonly inFiles: ReadonlyMap<string, readonly BatchInFile[]>;
  readonly scheduleSource: string;
}

function factsOf(observation: Observation): Facts {
  const succeeded = succeededPaymentsOf(observation.events);
  const accepted = ofType(observation.events, 'voids.events.v1', 'pos.void.accepted');
  const refusedVoids = new Set(ofType(observation.events, 'voids.events.v1', 'pos.void.channel-refused').map((e) => text(e, 'voidId')));
  const closedEvents = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.batch.closed');
  const inFiles = new Map<string, BatchInFile[]>();
  for (const file of observation.files) {
    const lines = groupBy(file.lines, (l) => l.batchId);
    for (const batchId of new Set([...lines.keys(), ...file.batchTotals.keys()])) {
      const stated = file.batchTotals.get(batchId);
      inFiles.set(batchId, [...(inFiles.get(batchId) ?? []), { path: file.path, dayFile: file.dayFile, lines: lines.get(batchId) ?? [], ...(stated ? { stated } : {}) }]);
    }
  }
  return {
    succeeded,
    succeededByOrder: new Map([...succeeded.values()].map((p) => [orderKey(p.merchantId, p.outTradeNo), p])),
    accepted,
    voided: new Set(accepted.filter((e) => !refusedVoids.has(text(e, 'voidId'))).map((e) => text(e, 'paymentId'))),
    refused: new Set(accepted.filter((e) => refusedVoids.has(text(e, 'voidId'))).map((e) => text(e, 'paymentId'))),
    closedEvents,
    closed: new Map(closedEvents.map((e) => [text(e, 'batchId'), closedBatchOf(e)])),
    inFiles,
    scheduleSource: Sources.schedule(observation.schedule),
  };
}

/** The batch's own file (the one stating no day total); undefined when none was found on disk. */
function ownFileOf(facts: Facts, batchId: string): BatchInFile | undefined {
  return facts.inFiles.get(batchId)?.find((f) => !f.dayFile && f.stated);
}

/** The file a batch's report line should name: its own, as read from disk. */
export function reconciliationPathOf(observation: Observation, batchId: string): string | undefined {
  return observation.files.find((f) => !f.dayFile && f.batchTotals.has(batchId))?.path;
}

/** Invariant 1 of DOMAIN.md: no payment is both voided and cleared. */
function neverBoth(facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const clearedEvents = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.payment.cleared');
  const clearedOnTopic = new Set(clearedEvents.map((e) => text(e, 'paymentId')));
  const clearedInFiles = new Map<string, string>();
  for (const file of observation.files) for (const line of file.lines) if (!line.voided) clearedInFiles.set(line.paymentId, file.path);
  for (const paymentId of facts.voided) {
    if (clearedOnTopic.has(paymentId)) problems.push(`payment ${paymentId} has an accepted void and a pos.clearing.payment.cleared event`);
    const path = clearedInFiles.get(paymentId);
    if (path) problems.push(`payment ${paymentId} has an accepted void and is a CLEARED line of ${path}`);
  }
  const cleared = new Set([...clearedOnTopic, ...clearedInFiles.keys()]);
  return result(
    'Never both voided and cleared',
    [Sources.voids, Sources.cleared, Sources.files],
    problems,
    `${facts.voided.size} voided, ${cleared.size} cleared, ${[...facts.voided].filter((id) => cleared.has(id)).length} both`,
  );
}

/**
 * Every accepted void executed at its channel exactly once (ADR 0008), recomputed from
 * voids.events.v1 alone: one final execution event per accepted void (pos.void.executed or
 * pos.void.channel-refused) and none for anything else; the customer's pos.void.confirmed for an
 * executed void only, once, after its executed event; and each batch's gate-closed after every
 * final execution event of its voids, counting them (acceptedVoids executed, refusedVoids refused).
 * Same key (merchant), same partition: "after" is a larger offset.
 */
export function voidsExecuted(observation: Observation): InvariantResult {
  const problems: string[] = [];
  const events = (type: string) => ofType(observation.events, 'voids.events.v1', type);
  const accepted = new Map(events('pos.void.accepted').map((e) => [text(e, 'voidId'), e]));
  const finals = groupBy([...events('pos.void.executed'), ...events('pos.void.channel-refused')], (e) => text(e, 'voidId'));
  const confirmed = groupBy(events('pos.void.confirmed'), (e) => text(e, 'voidId'));
  const after = (later: ObservedEvent, earlier: ObservedEvent) => later.partition === earlier.partition && BigInt(later.offset) > BigInt(earlier.offset);
  let executed = 0;
  let refused = 0;
  for (const [voidId, acceptance] of accepted) {
    const final = finals.get(voidId) ?? [];
    if (final.length !== 1) {
      problems.push(`accepted void ${voidId} has ${final.length} final execution events (expected 1)`);
      continue;
    }
    const [outcome] = final;
    if (!after(outcome, acceptance)) problems.push(`void ${voidId}: ${outcome.type} is not after its pos.void.accepted on the partition`);
    if (text(outcome, 'paymentId') !== text(acceptance, 'paymentId') || text(outcome, 'batchId') !== text(acceptance, 'batchId')) {
      problems.push(`void ${voidId}: ${outcome.type} names payment ${text(outcome, 'paymentId')} of ${text(outcome, 'batchId')}, the acceptance ${text(acceptance, 'paymentId')} of ${text(acceptance, 'batchId')}`);
    }
    const notices = confirmed.get(voidId) ?? [];
    if (outcome.type === 'pos.void.executed') {
      executed++;
      if (notices.length !== 1) problems.push(`executed void ${voidId} has ${notices.length} pos.void.confirmed (expected 1)`);
      for (const notice of notices) if (!after(notice, outcome)) problems.push(`void ${voidId}: pos.void.confirmed is not after its pos.void.executed`);
    } else {
      refused++;
      if (notices.length) problems.push(`void ${voidId} was refused by its channel (${text(outcome, 'channelCode')}), yet the customer was told it was confirmed`);
    }
  }
  for (const voidId of finals.keys()) if (!accepted.has(voidId)) problems.push(`void ${voidId} has an execution event but was never accepted`);
  for (const voidId of confirmed.keys()) if (!accepted.has(voidId)) problems.push(`void ${voidId} was confirmed but never accepted`);
  const finalsOfBatch = groupBy([...finals.values()].flat(), (e) => text(e, 'batchId'));
  for (const gate of events('pos.void.gate-closed')) {
    const batchId = text(gate, 'batchId');
    const ofBatch = finalsOfBatch.get(batchId) ?? [];
    for (const e of ofBatch) if (!after(gate, e)) problems.push(`batch ${batchId}: gate-closed is not after ${e.type} of void ${text(e, 'voidId')}`);
    const counted = { executed: ofBatch.filter((e) => e.type === 'pos.void.executed').length, refused: ofBatch.filter((e) => e.type === 'pos.void.channel-refused').length };
    const stated = { executed: Number(field(gate, 'acceptedVoids')), refused: Number(field(gate, 'refusedVoids') ?? 0) };
    if (stated.executed !== counted.executed || stated.refused !== counted.refused) {
      problems.push(`batch ${batchId}: gate-closed counts ${stated.executed} executed and ${stated.refused} refused voids, the topic has ${counted.executed} and ${counted.refused}`);
    }
  }
  return result(
    'Every accepted void has one final execution at its channel, confirmed only after it was executed',
    [Sources.voids, Sources.gateClosed],
    problems,
    `${accepted.size} accepted voids: ${executed} executed, ${refused} refused by the channel`,
  );
}

/**
 * Every accepted void excluded, unless its channel refused it (then it is cleared like any other
 * payment: checked with the batch membership below): at most one per payment; the payment is in no batch's cleared
 * lines and is a VOIDED line of exactly one batch of its own clearing group; and the voided
 * totals clearing announced per group are the voided payments' amounts as paid.
 */
function voidsExcluded(facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  for (const [paymentId, n] of countBy(facts.accepted, (e) => text(e, 'paymentId'))) if (n > 1) problems.push(`payment ${paymentId} has ${n} accepted voids`);
  const expectedVoided = new Map<string, { count: number; fen: number }>();
  for (const paymentId of facts.voided) {
    const payment = facts.succeeded.get(paymentId);
    if (!payment) {
      problems.push(`payment ${paymentId} has an accepted void but never succeeded on payments.events.v1`);
      continue;
    }
    const key = groupKeyOf(expectedClearingOf(payment, observation.schedule).group);
    const sum = expectedVoided.get(key) ?? { count: 0, fen: 0 };
    expectedVoided.set(key, { count: sum.count + 1, fen: sum.fen + payment.amountFen });
    const lines = [...facts.inFiles].flatMap(([batchId, files]) =>
      files.filter((f) => !f.dayFile).flatMap((f) => f.lines.filter((l) => l.paymentId === paymentId).map((l) => ({ batchId, path: f.path, line: l }))),
    );
    const clearedIn = lines.filter((l) => !l.line.voided);
    const voidedIn = lines.filter((l) => l.line.voided);
    if (clearedIn.length) problems.push(`voided payment ${paymentId} is a CLEARED line of ${clearedIn.map((l) => l.path).join(', ')}`);
    if (voidedIn.length !== 1) problems.push(`voided payment ${paymentId} is a VOIDED line of ${voidedIn.length} batch files (expected 1)`);
    for (const { batchId, path } of voidedIn) {
      const batch = facts.closed.get(batchId);
      if (batch && groupKeyOf(batch.group) !== key) problems.push(`voided payment ${paymentId} is listed in ${path} of batch ${batchId} (${groupKeyOf(batch.group)}), expected in ${key}`);
    }
  }
  const announced = new Map<string, { count: number; fen: number }>();
  for (const batch of facts.closed.values()) {
    const key = groupKeyOf(batch.group);
    const sum = announced.get(key) ?? { count: 0, fen: 0 };
    announced.set(key, { count: sum.count + batch.voidedCount, fen: sum.fen + batch.voidedFen });
  }
  for (const key of new Set([...expectedVoided.keys(), ...announced.keys()])) {
    const expected = expectedVoided.get(key) ?? { count: 0, fen: 0 };
    const got = announced.get(key) ?? { count: 0, fen: 0 };
    if (expected.count !== got.count || expected.fen !== got.fen) problems.push(`${key}: batch.closed voided totals ${fenOf(got)}, the accepted voids' payments add up to ${fenOf(expected)}`);
  }
  return result(
    'Every accepted void is excluded from every batch total',
    [Sources.voids, Sources.payments, facts.scheduleSource, Sources.closed, Sources.cleared, Sources.files],
    problems,
    `${facts.accepted.length} accepted voids; ${facts.voided.size} payments excluded in ${expectedVoided.size} clearing groups, ${facts.refused.size} refused by the channel and cleared`,
  );
}

/**
 * Invariant 4, recomputed: for every clearing group (merchant, channel, clearing date, and for
 * cards terminal and POS batch number) the payments the driver expects from payments.events.v1,
 * the accepted voids and the cutoff schedule are exactly the payments the group's batches clear,
 * to the fen; and every batch's batch.closed totals, clearing API totals, reconciliation files
 * (lines and stated totals) and payment.cleared events agree with each other.
 */
function membershipAndTotals(facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const schedule = observation.schedule;
  const expected = new Map<string, Set<string>>();
  for (const payment of facts.succeeded.values()) {
    if (facts.voided.has(payment.paymentId)) continue;
    const key = groupKeyOf(expectedClearingOf(payment, schedule).group);
    expected.set(key, (expected.get(key) ?? new Set()).add(payment.paymentId));
  }
  const sumOf = (ids: Iterable<string>) => {
    let fen = 0;
    let count = 0;
    for (const id of ids) {
      count++;
      fen += facts.succeeded.get(id)?.amountFen ?? 0;
    }
    return { count, fen };
  };

  for (const [batchId, n] of countBy(facts.closedEvents, (e) => text(e, 'batchId'))) if (n > 1) problems.push(`batch ${batchId} closed ${n} times`);
  const clearedEvents = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.payment.cleared');
  for (const [paymentId, n] of countBy(clearedEvents, (e) => text(e, 'paymentId'))) if (n > 1) problems.push(`payment ${paymentId} cleared ${n} times on the topic`);
  const clearedEventsOf = groupBy(clearedEvents, (e) => text(e, 'batchId'));
  const batchOfPayment = new Map<string, string>();

  const observed = new Map<string, { ids: Set<string>; count: number; fen: number }>();
  for (const batch of facts.closed.values()) {
    const { batchId } = batch;
    const key = groupKeyOf(batch.group);
    const group = observed.get(key) ?? { ids: new Set<string>(), count: 0, fen: 0 };
    group.count += batch.paymentCount;
    group.fen += batch.totalFen;
    observed.set(key, group);
    const announced = { count: batch.paymentCount, fen: batch.totalFen };

    const view = observation.batches.find((b) => b.batchId === batchId);
    if (!view?.totals) problems.push(`batch ${batchId}: closed on the topic, the clearing API shows ${view ? view.state : 'nothing'}`);
    else if (view.totals.paymentCount !== batch.paymentCount || view.totals.totalFen !== batch.totalFen || view.totals.voidedCount !== batch.voidedCount || view.totals.voidedFen !== batch.voidedFen) {
      problems.push(`batch ${batchId}: API totals ${view.totals.paymentCount}/${view.totals.totalFen} fen, voided ${view.totals.voidedCount}/${view.totals.voidedFen}; batch.closed ${fenOf(announced)}, voided ${batch.voidedCount}/${batch.voidedFen}`);
    }

    const own = ownFileOf(facts, batchId);
    if (!own) {
      problems.push(`batch ${batchId}: no reconciliation file of its own on disk`);
      continue;
    }
    for (const file of facts.inFiles.get(batchId) ?? []) {
      const cleared = file.lines.filter((l) => !l.voided);
      const voided = file.lines.filter((l) => l.voided);
      const lines = sumOf(cleared.map((l) => l.paymentId));
      const voidedLines = sumOf(voided.map((l) => l.paymentId));
      if (lines.count !== batch.paymentCount || lines.fen !== batch.totalFen) problems.push(`batch ${batchId}: ${file.path} clears ${fenOf(lines)} as paid, batch.closed says ${fenOf(announced)}`);
      if (voidedLines.count !== batch.voidedCount || voidedLines.fen !== batch.voidedFen) problems.push(`batch ${batchId}: ${file.path} voids ${fenOf(voidedLines)} as paid, batch.closed says ${batch.voidedCount}/${batch.voidedFen} fen`);
      const s = file.stated;
      if (!s) problems.push(`batch ${batchId}: ${file.path} has its lines but no BATCH_TOTAL`);
      else if (s.paymentCount !== batch.paymentCount || s.totalFen !== batch.totalFen || s.voidedCount !== batch.voidedCount || s.voidedFen !== batch.voidedFen) {
        problems.push(`batch ${batchId}: ${file.path} states ${s.paymentCount}/${s.totalFen} fen, voided ${s.voidedCount}/${s.voidedFen}; batch.closed ${fenOf(announced)}, voided ${batch.voidedCount}/${batch.voidedFen}`);
      }
      for (const line of file.lines) {
        const paid = facts.succeeded.get(line.paymentId);
        if (!paid) problems.push(`batch ${batchId}: ${file.path} lists payment ${line.paymentId}, which never succeeded on payments.events.v1`);
        else if (paid.amountFen !== line.amountFen) problems.push(`batch ${batchId}: ${file.path} lists ${line.paymentId} at ${line.amountFen} fen, it was paid ${paid.amountFen} fen`);
      }
    }

    const windows = new Set<number>();
    for (const line of own.lines) {
      const earlier = batchOfPayment.get(line.paymentId);
      if (earlier) problems.push(`payment ${line.paymentId} is in batch ${earlier} and in batch ${batchId}`);
      batchOfPayment.set(line.paymentId, batchId);
      if (!line.voided) group.ids.add(line.paymentId);
      const paid = facts.succeeded.get(line.paymentId);
      if (!paid) continue;
      const expectation = expectedClearingOf(paid, schedule);
      windows.add(expectation.window.opensAt);
      const expectedKey = groupKeyOf(expectation.group);
      if (expectedKey !== key) problems.push(`payment ${line.paymentId} is in batch ${batchId} of ${key}, its success time and channel put it in ${expectedKey}`);
    }
    if (windows.size > 1) problems.push(`batch ${batchId} holds payments of ${windows.size} cutoff windows: ${[...windows].map((w) => new Date(w).toISOString()).join(', ')}`);

    const onTopic = new Set((clearedEventsOf.get(batchId) ?? []).map((e) => text(e, 'paymentId')));
    const inFile = new Set(own.lines.filter((l) => !l.voided).map((l) => l.paymentId));
    if (!sameSet(onTopic, inFile)) problems.push(`batch ${batchId}: ${onTopic.size} payment.cleared events, ${inFile.size} CLEARED lines in ${own.path}, not the same payments`);
  }

  for (const key of new Set([...expected.keys(), ...observed.keys()])) {
    const want = expected.get(key) ?? new Set<string>();
    const got = observed.get(key) ?? { ids: new Set<string>(), count: 0, fen: 0 };
    const missing = [...want].filter((id) => !got.ids.has(id));
    const extra = [...got.ids].filter((id) => !want.has(id));
    if (missing.length) problems.push(`${key}: ${missing.length} succeeded, unvoided payment(s) cleared by no batch of the group: ${missing.slice(0, 3).join(', ')}`);
    if (extra.length) problems.push(`${key}: ${extra.length} payment(s) cleared that do not belong to the group: ${extra.slice(0, 3).join(', ')}`);
    const sum = sumOf(want);
    if (sum.count !== got.count || sum.fen !== got.fen) problems.push(`${key}: batch.closed totals add up to ${fenOf(got)}, the group's payments as paid to ${fenOf(sum)}`);
  }
  const fen = [...facts.closed.values()].reduce((sum, b) => sum + b.totalFen, 0);
  return result(
    'Batch membership and totals recomputed from the payments, voids and cutoff schedule',
    [Sources.payments, Sources.voids, facts.scheduleSource, Sources.closed, Sources.cleared, Sources.api, Sources.files],
    problems,
    `${expected.size} clearing groups expected, ${facts.closed.size} batches closed over ${observed.size} groups, ${fen} fen cleared; ${observation.files.length} files read`,
  );
}

/** Batch windows as clearing announced them on batch.opened, by batch id. */
function announcedWindows(observation: Observation): Map<string, { opensAt: number; closesAt: number; openedAt: number }> {
  return new Map(
    ofType(observation.events, 'clearing.events.v1', 'pos.clearing.batch.opened').map((e) => [
      text(e, 'batchId'),
      { opensAt: Date.parse(text(e, 'opensAt')), closesAt: Date.parse(text(e, 'closesAt')), openedAt: e.timestamp },
    ]),
  );
}

const iso = (instant: number) => new Date(instant).toISOString();

/**
 * The cutoff schedule as the driver published it, not as clearing stored it: every window a batch
 * announced (batch.opened) closes at the cutoff the published versions put there and opens no
 * earlier than that window does (later only for a terminal settlement's successor); every payment
 * a batch clears succeeded inside its window; and every version published during the day has
 * batches of its own once payments succeeded under it.
 */
function windowsAsPublished(facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const { schedule } = observation;
  const windows = announcedWindows(observation);
  for (const [batchId, window] of windows) {
    if (Number.isNaN(window.opensAt) || Number.isNaN(window.closesAt)) {
      problems.push(`batch ${batchId} was opened without a window`);
      continue;
    }
    const expected = cutoffWindowAt(window.opensAt, schedule);
    if (window.closesAt !== expected.closesAt || window.opensAt < expected.opensAt) {
      problems.push(`batch ${batchId} announced the window [${iso(window.opensAt)}, ${iso(window.closesAt)}), the published schedule has [${iso(expected.opensAt)}, ${iso(expected.closesAt)})`);
    }
  }
  for (const batchId of facts.closed.keys()) {
    const window = windows.get(batchId);
    if (!window) {
      problems.push(`batch ${batchId} closed, its batch.opened (its window) never seen`);
      continue;
    }
    for (const line of ownFileOf(facts, batchId)?.lines ?? []) {
      const paid = facts.succeeded.get(line.paymentId);
      if (paid && (paid.succeededAt < window.opensAt || paid.succeededAt >= window.closesAt)) {
        problems.push(`payment ${line.paymentId} succeeded at ${iso(paid.succeededAt)}, outside the window [${iso(window.opensAt)}, ${iso(window.closesAt)}) of its batch ${batchId}`);
      }
    }
  }
  const perVersion = schedule.map((version, i) => {
    const from = version.effectiveFrom ?? Number.NEGATIVE_INFINITY;
    const until = schedule[i + 1]?.effectiveFrom ?? Number.POSITIVE_INFINITY;
    const batches = [...windows.values()].filter((w) => w.opensAt >= from && w.opensAt < until).length;
    const paid = [...facts.succeeded.values()].filter((p) => p.succeededAt >= from && p.succeededAt < until).length;
    if (i > 0 && paid > 0 && batches === 0) problems.push(`no batch opened under version ${i + 1} (${describeSchedule([version])}), though ${paid} payments succeeded under it`);
    return `version ${i + 1}: ${paid} payments, ${batches} batches`;
  });
  const published = observation.operator.published.map(
    (p) => `${describeSchedule([p.version])} published ${((p.version.effectiveFrom ?? p.doneAt) - p.doneAt) / 1000} s ahead`,
  );
  return result(
    'Batch windows follow the published cutoff schedule versions',
    [facts.scheduleSource, Sources.operator, Sources.payments, Sources.opened, Sources.files],
    problems,
    `${windows.size} batch windows; ${perVersion.join('; ')}${published.length ? `; ${published.join('; ')}` : ''}`,
  );
}

/**
 * A payment whose event reached clearing after its cutoff keeps its day: the payments planned to
 * succeed while clearing was held still across a cutoff (until after the close grace) are each
 * cleared once, in a batch of the clearing group and window of their success time.
 */
function latePaymentsKeepTheirDay(plan: DayPlan, facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const windows = announcedWindows(observation);
  const clearedIn = groupBy(ofType(observation.events, 'clearing.events.v1', 'pos.clearing.payment.cleared'), (e) => text(e, 'paymentId'));
  const planned = plan.steps.filter((s): s is PlannedPayment => s.kind === 'payment' && s.heldBack === true);
  const notes: string[] = [];
  for (const payment of planned) {
    const paid = facts.succeededByOrder.get(orderKey(payment.merchantId, payment.outTradeNo));
    if (!paid) {
      problems.push(`held-back payment ${payment.outTradeNo} never succeeded on payments.events.v1`);
      continue;
    }
    const expected = expectedClearingOf(paid, observation.schedule);
    const span = observation.operator.heldBack.find((h) => h.from <= paid.succeededAt && paid.succeededAt < h.until);
    if (!span) problems.push(`payment ${paid.paymentId} succeeded at ${iso(paid.succeededAt)}, while clearing was not held still: its event was not late`);
    else if (span.until < expected.window.closesAt + CLOSE_GRACE_MS) {
      problems.push(`payment ${paid.paymentId}: clearing was held still only until ${iso(span.until)}, before its window's cutoff ${iso(expected.window.closesAt)} and close grace: its event was not late`);
    }
    const batches = (clearedIn.get(paid.paymentId) ?? []).map((e) => text(e, 'batchId'));
    if (batches.length !== 1) {
      problems.push(`payment ${paid.paymentId} cleared ${batches.length} times`);
      continue;
    }
    const [batchId] = batches;
    const batch = facts.closed.get(batchId);
    const window = windows.get(batchId);
    if (!batch || !window) {
      problems.push(`payment ${paid.paymentId} cleared in batch ${batchId}, which never opened and closed on the topic`);
      continue;
    }
    if (groupKeyOf(batch.group) !== groupKeyOf(expected.group)) {
      problems.push(`payment ${paid.paymentId}, succeeded at ${iso(paid.succeededAt)}, cleared in ${batchId} of ${groupKeyOf(batch.group)}; its success time puts it in ${groupKeyOf(expected.group)}`);
    }
    if (paid.succeededAt < window.opensAt || paid.succeededAt >= window.closesAt) {
      problems.push(`payment ${paid.paymentId}, succeeded at ${iso(paid.succeededAt)}, cleared in ${batchId} of the window [${iso(window.opensAt)}, ${iso(window.closesAt)})`);
    }
    notes.push(`${payment.outTradeNo} succeeded ${(expected.window.closesAt - paid.succeededAt) / 1000} s before the cutoff, cleared in ${batchId}${window.openedAt >= expected.window.closesAt ? ' (a late batch of its window)' : ''} on ${batch.group.clearingDate}`);
  }
  return result(
    'Late payment events keep their clearing day',
    [Sources.plan, Sources.operator, Sources.payments, facts.scheduleSource, Sources.opened, Sources.closed, Sources.cleared],
    problems,
    planned.length ? `${planned.length} payment(s) succeeded while clearing was held still across a cutoff: ${notes.join('; ')}` : 'no payment held back in this day',
  );
}

/**
 * An accepted void that clearing parked keeps its batch in CLOSING until it is replayed: the
 * planned parked void is on voids.events.v1.dlq, the operator replayed it (a copy with its
 * dlq_replay_of on voids.events.v1), the void service had closed the batch's gate before the
 * replay, the driver saw the batch CLOSING in the clearing API meanwhile, and batch.closed came
 * only after the replay. (That the void is then excluded is checked above, like every void's.)
 */
function parkedVoidsHeldTheirBatch(plan: DayPlan, facts: Facts, observation: Observation, raw: readonly ObservedEvent[]): InvariantResult {
  const problems: string[] = [];
  const planned = plan.steps.filter((s): s is PlannedVoid => s.kind === 'void' && s.variant === 'PARKED_AND_REPLAYED');
  const notes: string[] = [];
  for (const step of planned) {
    const key = step.idempotencyKey;
    const accepted = facts.accepted.find((e) => text(e, 'merchantId') === step.merchantId && text(e, 'idempotencyKey') === key);
    if (!accepted) {
      problems.push(`parked void ${key} was never accepted`);
      continue;
    }
    const batchId = text(accepted, 'batchId');
    const parked = raw.filter((e) => e.topic === 'voids.events.v1.dlq' && e.type === 'pos.void.accepted' && text(e, 'idempotencyKey') === key);
    if (parked.length !== 1) {
      problems.push(`accepted void ${key} is ${parked.length} times on voids.events.v1.dlq (expected parked once)`);
      continue;
    }
    const marker = `voids.events.v1.dlq/${parked[0].partition}/${parked[0].offset}`;
    const copy = raw.find((e) => e.topic === 'voids.events.v1' && e.headers['dlq_replay_of'] === marker);
    if (!copy) {
      problems.push(`the dead letter ${marker} of void ${key} was never replayed`);
      continue;
    }
    const gate = ofType(observation.events, 'voids.events.v1', 'pos.void.gate-closed').find((e) => text(e, 'batchId') === batchId);
    if (!gate || gate.timestamp > copy.timestamp) problems.push(`batch ${batchId}: its gate closed ${gate ? `at ${iso(gate.timestamp)}, after the replay` : 'never'}; the wait was not shown`);
    const closed = facts.closedEvents.find((e) => text(e, 'batchId') === batchId);
    if (!closed) problems.push(`batch ${batchId} never closed after the replay of ${marker}`);
    else if (closed.timestamp < copy.timestamp) problems.push(`batch ${batchId} closed at ${iso(closed.timestamp)}, before the parked void ${key} was replayed at ${iso(copy.timestamp)}`);
    const seen = observation.operator.replays.find((r) => r.idempotencyKey === key);
    if (seen?.closingSeenAt === undefined || seen.closingSeenAt > copy.timestamp) problems.push(`batch ${batchId} was not seen CLOSING in the clearing API before the replay${seen?.problem ? `: ${seen.problem}` : ''}`);
    notes.push(`${key} parked at ${marker} (${String(parked[0].headers['dlq_reason'])}), batch ${batchId} CLOSING until the replay at ${iso(copy.timestamp)}${closed ? `, closed ${iso(closed.timestamp)}` : ''}`);
  }
  return result(
    'A parked accepted void holds its batch in CLOSING until replayed',
    [Sources.plan, Sources.voids, Sources.deadLetters, Sources.replays, Sources.gateClosed, Sources.closed, Sources.api, Sources.operator],
    problems,
    planned.length ? notes.join('; ') || `${planned.length} planned` : 'no void parked in this day',
  );
}

/** A batch that did not close by the end of the run fails it: its payments were never cleared or excluded. */
function noBatchLeftOpen(facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const opened = ofType(observation.events, 'clearing.events.v1', 'pos.clearing.batch.opened').map((e) => text(e, 'batchId'));
  for (const batchId of new Set(opened)) if (!facts.closed.has(batchId)) problems.push(`batch ${batchId} opened and never closed on the topic`);
  for (const batch of observation.batches) if (batch.state === 'OPEN' || batch.state === 'CLOSING') problems.push(`batch ${batch.batchId} is ${batch.state} in the clearing API`);
  return result(
    'No batch left OPEN or CLOSING at the end of the run',
    [Sources.opened, Sources.closed, Sources.api],
    problems,
    `${new Set(opened).size} batches opened, ${facts.closed.size} closed`,
  );
}

function answersAgree(answers: readonly HttpAnswer[]): boolean {
  const first = answers[0];
  return answers.every((a) => a.status === first.status && a.body['voidId'] === first.body['voidId'] && a.body['decision'] === first.body['decision']);
}

/**
 * The answers the void service documents as not final (docs/services.md, "Voids"): they do not take
 * the idempotency key, and the same key is asked again. Written here from the document, so the
 * service's own `final` flag is checked against it rather than believed.
 */
const NOT_FINAL_REASONS = new Set(['PAYMENT_NOT_FOUND', 'PAYMENT_PENDING', 'CLEARING_PENDING', 'VOID_TOO_EARLY', 'SUPERVISOR_AUTH_REQUIRED']);
const isFinalDecision = (body: Record<string, unknown> | undefined) => body?.['decision'] === 'ACCEPTED' || !NOT_FINAL_REASONS.has(String(body?.['reason']));

/** The answer a key ended with: its last final answer (or its last one), timed from the first attempt. */
function settledAnswer(answers: readonly HttpAnswer[]): HttpAnswer | undefined {
  if (answers.length === 0) return undefined;
  const finals = answers.filter((a) => isFinalDecision(a.body));
  const last = finals[finals.length - 1] ?? answers[answers.length - 1];
  return { ...last, sentAt: answers[0].sentAt };
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

const keysOf = (planned: PlannedVoid) => (planned.variant === 'DOUBLE' ? [planned.idempotencyKey, `${planned.idempotencyKey}-b`] : [planned.idempotencyKey]);

/** Invariant 2: every void request decided exactly once, retries included. */
function decidedOnce(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const decisions = ofType(observation.events, 'voids.events.v1', 'pos.void.accepted', 'pos.void.rejected');
  const keyOf = (e: ObservedEvent) => `${text(e, 'merchantId')}/${text(e, 'idempotencyKey')}`;
  const voids = plan.steps.filter((s): s is PlannedVoid => s.kind === 'void');
  for (const planned of voids) {
    const keys = keysOf(planned);
    for (const key of keys) {
      // At most one final decision per key; answers that are not final may come before it (asked again).
      const mine = decisions.filter((e) => keyOf(e) === `${planned.merchantId}/${key}`);
      const finals = mine.filter((e) => isFinalDecision({ ...e.data, decision: e.type === 'pos.void.accepted' ? 'ACCEPTED' : 'REJECTED' }));
      // A key may end on an answer that is not final (the void service had not learnt the payment yet
      // when the driver, or an upstream over Kafka, stopped asking): the answers check judges it by
      // the plan. What may never happen is two final decisions, or none at all.
      if (mine.length === 0 || finals.length > 1) {
        problems.push(`void ${key} (${planned.variant}) has ${finals.length} final of ${mine.length} decision events: ${mine.map((e) => `${String(e.type)} ${text(e, 'voidId')}`).join(', ')}`);
      }
      const answers = observation.voids.get(key) ?? [];
      if (planned.variant !== 'VIA_KAFKA' && answers.length === 0) problems.push(`void ${key} got no HTTP answer`);
      const finalAnswers = answers.filter((a) => isFinalDecision(a.body));
      if (finalAnswers.length > 1 && !answersAgree(finalAnswers)) problems.push(`void ${key}: retries got different answers`);
      for (const answer of answers) {
        if (answer.status === 200 && answer.body['final'] !== isFinalDecision(answer.body)) {
          problems.push(`void ${key}: ${String(answer.body['reason'] ?? answer.body['decision'])} answered final=${String(answer.body['final'])}`);
        }
      }
    }
    if (planned.variant === 'DOUBLE') {
      const problem = doubleVoidProblem(keys.map((k) => settledAnswer(observation.voids.get(k) ?? [])?.body));
      if (problem) problems.push(`double void on ${planned.payment.outTradeNo}: ${problem}`);
    }
  }
  return result(
    'Every void request decided exactly once',
    [Sources.plan, Sources.voids, Sources.http],
    problems,
    `${voids.length} planned voids, ${decisions.length} decisions on Kafka; ${keysDecidedAfterRetryLater(observation.voids)} key(s) answered RETRY_LATER, then finally under the same key`,
  );
}

/** A void's answer as the driver got it: the HTTP answer, or for a Kafka command the decision event. */
interface VoidAnswer {
  /** The HTTP status; none for a decision read from the topic. */
  readonly status?: number;
  readonly body: Record<string, unknown>;
  readonly sentAt: number;
  readonly answeredAt: number;
}

function answerTo(planned: PlannedVoid, key: string, observation: Observation): VoidAnswer | undefined {
  if (planned.variant !== 'VIA_KAFKA') return settledAnswer(observation.voids.get(key) ?? []);
  const decisions = ofType(observation.events, 'voids.events.v1', 'pos.void.accepted', 'pos.void.rejected').filter(
    (e) => text(e, 'merchantId') === planned.merchantId && text(e, 'idempotencyKey') === key,
  );
  const decision = decisions.find((e) => isFinalDecision({ ...e.data, decision: e.type === 'pos.void.accepted' ? 'ACCEPTED' : 'REJECTED' })) ?? decisions[0];
  const sentAt = observation.voidCommandsSentAt.get(key);
  if (!decision?.data || sentAt === undefined) return undefined;
  return { body: { ...decision.data, decision: decision.type === 'pos.void.accepted' ? 'ACCEPTED' : 'REJECTED' }, sentAt, answeredAt: decision.timestamp };
}

/** Why an answer is not the expected one, or undefined when it is. */
export function unexpectedAnswer(
  planned: PlannedVoid,
  key: string,
  answer: VoidAnswer,
  payment: SucceededPayment | undefined,
  observation: Observation,
  acceptedVoidKeys: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  const deadline = payment ? voidDeadlineOf(payment, observation.schedule, observation.settlements) : undefined;
  const holds = (expected: ExpectedAnswer): boolean => {
    if (answer.body['decision'] !== expected.decision) return false;
    if (expected.reasons && !expected.reasons.includes(String(answer.body['reason']))) return false;
    if (expected.remedy && answer.body['remedy'] !== expected.remedy) return false;
    switch (expected.when) {
      case 'SENT_BEFORE_DEADLINE':
        return deadline !== undefined && answer.sentAt < deadline.latest;
      case 'ANSWERED_AT_OR_AFTER_DEADLINE':
        return deadline !== undefined && answer.answeredAt >= deadline.earliest;
      case 'ANOTHER_VOID_ACCEPTED':
        return (acceptedVoidKeys.get(payment?.paymentId ?? '') ?? []).some((k) => k !== key);
      default:
        return true;
    }
  };
  if (planned.expected.some(holds)) return undefined;
  const got =
    answer.body['decision'] === undefined
      ? `HTTP ${String(answer.status)} ${JSON.stringify(answer.body).slice(0, 120)}`
      : `${String(answer.body['decision'])} ${String(answer.body['reason'] ?? '')} (remedy ${String(answer.body['remedy'])})`;
  const timing = deadline
    ? `sent ${new Date(answer.sentAt).toISOString()}, answered ${new Date(answer.answeredAt).toISOString()}, deadline ${new Date(deadline.earliest).toISOString()}..${new Date(deadline.latest).toISOString()}`
    : 'its payment never succeeded on payments.events.v1';
  const wanted = planned.expected.map((e) => `${e.decision} ${e.reasons?.join('|') ?? ''}${e.when ? ` if ${e.when}` : ''}`.trim()).join('; ');
  return `${planned.variant} void ${key} of ${planned.payment.outTradeNo}: got ${got}, ${timing}; expected ${wanted}`;
}

/**
 * A void asked again after a RETRY_LATER answer: its first answer is not final (remedy
 * RETRY_LATER), and asking again with the same key gets a final one. A transient answer that stuck
 * to the key would be replayed for ever.
 */
export function askedAgainProblem(answers: readonly HttpAnswer[]): string | undefined {
  const [first] = answers;
  if (!first) return 'no answer';
  if (isFinalDecision(first.body) || first.body['remedy'] !== 'RETRY_LATER') return `first answered ${String(first.body['reason'] ?? first.body['decision'])}, not a RETRY_LATER: the scenario did not happen`;
  const final = answers.findIndex((a) => isFinalDecision(a.body));
  if (final < 0) return `${answers.length} answers under one key, none final: the RETRY_LATER answer stuck to the key`;
  return undefined;
}

/** Keys answered RETRY_LATER and then, asked again with the same key, a final answer. */
export function keysDecidedAfterRetryLater(voids: ReadonlyMap<string, readonly HttpAnswer[]>): number {
  return [...voids.values()].filter((answers) => {
    const final = answers.findIndex((a) => isFinalDecision(a.body));
    return final > 0 && answers.slice(0, final).some((a) => a.body['remedy'] === 'RETRY_LATER');
  }).length;
}

/** Every planned void got an answer, and one of those its plan names as right (timing judged by the driver's clock). */
function voidAnswersAsPlanned(plan: DayPlan, facts: Facts, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const acceptedVoidKeys = new Map<string, string[]>();
  for (const e of facts.accepted) acceptedVoidKeys.set(text(e, 'paymentId'), [...(acceptedVoidKeys.get(text(e, 'paymentId')) ?? []), text(e, 'idempotencyKey')]);
  let answered = 0;
  for (const planned of plan.steps.filter((s): s is PlannedVoid => s.kind === 'void')) {
    const payment = facts.succeededByOrder.get(orderKey(planned.payment.merchantId, planned.payment.outTradeNo));
    for (const key of keysOf(planned)) {
      const answer = answerTo(planned, key, observation);
      if (!answer) {
        problems.push(`${planned.variant} void ${key} of ${planned.payment.outTradeNo} got no answer`);
        continue;
      }
      answered++;
      const problem = unexpectedAnswer(planned, key, answer, payment, observation, acceptedVoidKeys);
      if (problem) problems.push(problem);
      if (planned.variant === 'ASKED_AGAIN') {
        const problem = askedAgainProblem(observation.voids.get(key) ?? []);
        if (problem) problems.push(`ASKED_AGAIN void ${key} of ${planned.payment.outTradeNo}: ${problem}`);
      }
    }
  }
  return result(
    'Every planned void got an answer its plan names as right',
    [Sources.plan, Sources.http, Sources.voids, Sources.payments, facts.scheduleSource],
    problems,
    `${answered} void requests answered`,
  );
}

const FINAL_PAYMENT_EVENTS = new Set(['pos.payment.succeeded', 'pos.payment.failed', 'pos.payment.reversed']);

/** Invariant 6 for payments: every accepted request has exactly one final event; duplicates made one payment. */
function paymentsComplete(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const finals = observation.events.filter((e) => e.topic === 'payments.events.v1' && e.type !== undefined && FINAL_PAYMENT_EVENTS.has(e.type));
  const finalsByOrder = countBy(finals, (e) => orderKey(text(e, 'merchantId'), text(e, 'outTradeNo')));
  const payments = plan.steps.filter((s): s is PlannedPayment => s.kind === 'payment');
  let duplicates = 0;
  for (const payment of payments) {
    const n = finalsByOrder.get(orderKey(payment.merchantId, payment.outTradeNo)) ?? 0;
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
  return result('Every payment recorded once and published once', [Sources.plan, Sources.http, Sources.payments], problems, `${payments.length} payments planned (${duplicates} sent twice), ${finals.length} final payment events`);
}

/** The final event each planned outcome must end in, and whether the customer was seen still paying first. */
const FINAL_EVENT_OF: Readonly<Record<PlannedOutcome, { readonly type: string; readonly pendingFirst: boolean }>> = {
  SUCCESS: { type: 'pos.payment.succeeded', pendingFirst: false },
  DECLINED: { type: 'pos.payment.failed', pendingFirst: false },
  USERPAYING_THEN_SUCCESS: { type: 'pos.payment.succeeded', pendingFirst: true },
  USERPAYING_THEN_FAILURE: { type: 'pos.payment.failed', pendingFirst: true },
  TIMEOUT_REVERSED: { type: 'pos.payment.reversed', pendingFirst: false },
};

/** Every planned payment ended as its plan says, for the amount, channel, terminal and card batch planned. */
function paymentsAsPlanned(plan: DayPlan, observation: Observation): InvariantResult {
  const problems: string[] = [];
  const byOrder = groupBy(
    observation.events.filter((e) => e.topic === 'payments.events.v1' && e.type?.startsWith('pos.payment.')),
    (e) => orderKey(text(e, 'merchantId'), text(e, 'outTradeNo')),
  );
  const payments = plan.steps.filter((s): s is PlannedPayment => s.kind === 'payment');
  for (const payment of payments) {
    const events = byOrder.get(orderKey(payment.merchantId, payment.outTradeNo)) ?? [];
    const final = events.find((e) => FINAL_PAYMENT_EVENTS.has(e.type ?? ''));
    const wanted = FINAL_EVENT_OF[payment.outcome];
    if (!final) {
      problems.push(`payment ${payment.outTradeNo} (${payment.outcome}) has no final event`);
      continue;
    }
    if (final.type !== wanted.type) problems.push(`payment ${payment.outTradeNo} planned ${payment.outcome} ended ${final.type}`);
    if (wanted.pendingFirst && !events.some((e) => e.type === 'pos.payment.pending')) problems.push(`payment ${payment.outTradeNo} planned ${payment.outcome} was never pending`);
    const card = field(final, 'card') as { batchNo?: string } | undefined;
    const facts = { amountFen: Number(field(final, 'amountFen')), channel: text(final, 'channel'), terminalId: text(final, 'terminalId'), batchNo: card?.batchNo };
    const planned = { amountFen: payment.amountFen, channel: payment.channel, terminalId: payment.terminalId, batchNo: payment.card?.batchNo };
    if (JSON.stringify(facts) !== JSON.stringify(planned)) problems.push(`payment ${payment.outTradeNo}: published ${JSON.stringify(facts)}, planned ${JSON.stringify(planned)}`);
  }
  return result('Every planned payment ended as planned', [Sources.plan, Sources.payments], problems, `${payments.length} planned payments`);
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
  // A void the day made clearing park (its write refused): exactly once, for running out of attempts.
  const parkedKeys = plan.steps.flatMap((s) => (s.kind === 'void' && s.variant === 'PARKED_AND_REPLAYED' ? [s.idempotencyKey] : []));
  const parkedOf = (e: ObservedEvent) => e.topic === 'voids.events.v1.dlq' && e.type === 'pos.void.accepted' && parkedKeys.includes(text(e, 'idempotencyKey'));
  for (const key of parkedKeys) {
    const found = dead.filter((e) => parkedOf(e) && text(e, 'idempotencyKey') === key);
    if (found.length !== 1) problems.push(`accepted void ${key} is ${found.length} times in voids.events.v1.dlq (planned to be parked once)`);
    else if (found[0].headers['dlq_reason'] !== 'RETRIES_EXHAUSTED') problems.push(`parked void ${key}: reason ${found[0].headers['dlq_reason']}, expected RETRIES_EXHAUSTED`);
  }
  for (const event of dead) {
    if (!known.has(event.headers['ce_id'] ?? '') && !parkedOf(event)) problems.push(`unexplained dead letter on ${event.topic}: ${event.headers['dlq_reason']}: ${event.headers['dlq_detail']}`);
  }
  return result(
    'Dead-letter topics hold exactly the bad messages sent and the void parked, with their reasons',
    [Sources.plan, Sources.deadLetters],
    problems,
    `${dead.length} dead letters, ${planned.length} bad messages sent, ${parkedKeys.length} accepted void(s) made to be parked`,
  );
}

function edgeRefusals(observation: Observation): InvariantResult {
  const problems = observation.invalidRequests
    .filter(({ answer }) => answer.status !== 400 || typeof answer.body['code'] !== 'string')
    .map(({ variant, answer }) => `${variant}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
  return result('Bad input refused at the edge with a code', [Sources.plan, Sources.http], problems, `${observation.invalidRequests.length} bad requests, ${observation.invalidRequests.length - problems.length} refused with 400 and a code`);
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
  const facts = factsOf(observation);
  return [
    neverBoth(facts, observation),
    voidsExcluded(facts, observation),
    membershipAndTotals(facts, observation),
    noBatchLeftOpen(facts, observation),
    decidedOnce(plan, observation),
    voidAnswersAsPlanned(plan, facts, observation),
    paymentsComplete(plan, observation),
    paymentsAsPlanned(plan, observation),
    deadLettersExplained(plan, observation),
    edgeRefusals(observation),
    windowsAsPublished(facts, observation),
    latePaymentsKeepTheirDay(plan, facts, observation),
    parkedVoidsHeldTheirBatch(plan, facts, observation, observed.events),
    voidsExecuted(observation),
  ];
}
