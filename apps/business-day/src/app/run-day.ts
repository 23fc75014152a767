import { CloudEventHeaders, deadLetterTopicOf, Topics, TopicName, ConsumedTopics } from '@pos/contracts';
import { encodeEnvelope, InboundMessage, MessageBroker, MessageProducer, OutboundMessage, ReadRange } from '@pos/messaging';
import { checkInvariants } from './invariants';
import { HttpAnswer, ObservedBatch, ObservedEvent, Observation, OperatorActions, ParkedVoidReplay } from './observation';
import {
  DayPlan,
  PlannedHoldBack,
  PlannedInvalidRequest,
  PlannedMalformed,
  PlannedPayment,
  PlannedScheduleChange,
  PlannedSettlement,
  PlannedStep,
  PlannedVoid,
} from './plan';
import { cutoffsBetween, cutoffWindowAt, RequestedSettlement, ScheduleVersion } from './expected-clearing';
import { DayOperator } from './operator';
import { ReconciliationFile } from './reconciliation-csv';
import { readReconciliationFiles } from './reconciliation-directory';
import { DayReport } from './report';
import { DEMO_SUPERVISOR } from './demo-credentials';
import { StackClient } from './stack-client';
import { Progress } from './progress';

/** How often and how soon the day asks again after a void answer that is not final. */
const VOID_ATTEMPTS = 20;
const VOID_RETRY_MS = 250;

export interface RunDependencies {
  readonly client: StackClient;
  /** What the day reads: the services' events and dead letters (on a broker with ACLs, as the operator principal). */
  readonly broker: MessageBroker;
  /**
   * What the day's Kafka commands are sent through, as an upstream system sends them (on a broker
   * with ACLs, as the upstream principal, which may write the command topics only); `broker` when unset.
   */
  readonly commands?: MessageBroker;
  readonly progress: Progress;
  /** Where the clearing service writes reconciliation files: the checks read them from there. */
  readonly reconciliationDir: string;
  /** Needed by a plan with the operator's scenarios (DayOptions.operator). */
  readonly operator?: DayOperator;
}

type Offsets = Awaited<ReturnType<MessageBroker['topicOffsets']>>;
const OPERATOR_STEPS: readonly PlannedStep['kind'][] = ['schedule-change', 'hold-back'];

const OBSERVED_TOPICS: string[] = [
  Topics.paymentEvents,
  Topics.voidEvents,
  Topics.clearingEvents,
  ...ConsumedTopics.map((t) => deadLetterTopicOf(t)),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function paymentBody(payment: PlannedPayment, modified = false): Record<string, unknown> {
  return {
    merchantId: payment.merchantId,
    terminalId: payment.terminalId,
    channel: payment.channel,
    amountFen: modified ? payment.amountFen + 1 : payment.amountFen,
    currency: 'CNY',
    outTradeNo: payment.outTradeNo,
    ...(payment.paymentCode ? { paymentCode: payment.paymentCode } : {}),
    ...(payment.card ? { card: payment.card } : {}),
  };
}

function envelopeFor(topic: TopicName, type: string, id: string, key: string, data: unknown, schemaVersion = 1): OutboundMessage {
  return encodeEnvelope(topic, { id, type, source: '/business-day-driver', time: new Date().toISOString(), schemaVersion, key, data });
}

/** Executes the plan against the running stack, observes the outcome and checks the invariants. */
export class DayRun {
  private readonly payments = new Map<string, HttpAnswer[]>();
  private readonly voids = new Map<string, HttpAnswer[]>();
  private readonly invalidRequests: { variant: string; answer: HttpAnswer }[] = [];
  private readonly settlements: (RequestedSettlement & { answer: HttpAnswer })[] = [];
  private readonly voidCommandsSentAt = new Map<string, number>();
  private readonly paymentIds = new Map<string, string>();
  /** The schedule versions in force: the stack's, then each one the operator published. */
  private readonly schedule: ScheduleVersion[];
  private readonly operatorActions: { published: OperatorActions['published'][number][]; heldBack: OperatorActions['heldBack'][number][]; replays: ParkedVoidReplay[] } = {
    published: [],
    heldBack: [],
    replays: [],
  };
  private producer?: MessageProducer;
  private startOffsets: Offsets = [];
  private publishing?: Promise<void>;
  private firstCutoffAt = 0;

  constructor(
    private readonly plan: DayPlan,
    private readonly deps: RunDependencies,
  ) {
    this.schedule = [{ periodMs: plan.options.periodMs }];
    const needsOperator = plan.steps.some((s) => OPERATOR_STEPS.includes(s.kind) || (s.kind === 'void' && s.variant === 'PARKED_AND_REPLAYED'));
    if (needsOperator && !deps.operator) throw new Error("the day's plan has the operator's scenarios, and the runner has no operator for them");
  }

  private get operator(): DayOperator {
    if (!this.deps.operator) throw new Error('no operator');
    return this.deps.operator;
  }

  async run(): Promise<DayReport> {
    const period = this.plan.options.periodMs;
    const lead = -this.plan.start + 3_000;
    const firstCutoffAt = Math.ceil((Date.now() + lead) / period) * period;
    this.firstCutoffAt = firstCutoffAt;
    const startAt = firstCutoffAt + this.plan.start;
    const planned = this.plan.schedule.map((v) => (v.effectiveFrom === undefined ? v : { ...v, effectiveFrom: firstCutoffAt + v.effectiveFrom }));
    const cutoffs = cutoffsBetween(startAt, firstCutoffAt + this.plan.end + 2 * period, planned);
    const startOffsets = await this.deps.broker.topicOffsets(OBSERVED_TOPICS);
    this.startOffsets = startOffsets;
    this.producer = await (this.deps.commands ?? this.deps.broker).createProducer();
    this.deps.progress.phase(`waiting for the day to start (first cutoff ${new Date(firstCutoffAt).toISOString()})`, cutoffs);
    await sleep(startAt - Date.now());
    const startedAt = Date.now();

    const inFlight: Promise<void>[] = [];
    for (const step of this.plan.steps) {
      await sleep(firstCutoffAt + step.at - Date.now());
      inFlight.push(this.execute(step).catch((error: unknown) => this.deps.progress.problem(`${step.kind}: ${String(error)}`)));
    }
    await Promise.all(inFlight);
    await this.producer.disconnect();

    this.deps.progress.phase('waiting for the last batches to close', cutoffs);
    const lastPaymentAt = firstCutoffAt + Math.max(...this.plan.steps.filter((s) => s.kind === 'payment').map((s) => s.at));
    const lastCutoff = cutoffWindowAt(lastPaymentAt, this.schedule).closesAt;
    const closedEvents = await this.observeUntilClosed(startOffsets, lastCutoff + 45_000);
    this.deps.progress.phase('reading the reconciliation files from disk', cutoffs);
    const files = await this.readFilesOfClosedBatches(closedEvents, Date.now() + 30_000);
    // Read again: payment.cleared events and closes that followed the files are part of the day.
    const events = await this.readSince(startOffsets);
    const batches = await this.observeBatches(events);
    const finishedAt = Date.now();
    const observation: Observation = {
      schedule: this.schedule,
      operator: this.operatorActions,
      payments: this.payments,
      voids: this.voids,
      voidCommandsSentAt: this.voidCommandsSentAt,
      invalidRequests: this.invalidRequests,
      settlements: this.settlements,
      events,
      batches,
      files,
    };
    return {
      plan: this.plan,
      observation,
      invariants: checkInvariants(this.plan, observation),
      firstCutoffAt,
      cutoffs: cutoffsBetween(startAt, finishedAt, this.schedule),
      startedAt,
      finishedAt,
    };
  }

  private async execute(step: PlannedStep): Promise<void> {
    switch (step.kind) {
      case 'payment':
        return this.pay(step);
      case 'void':
        return this.voidPayment(step);
      case 'settlement':
        return this.settle(step);
      case 'malformed':
        return this.sendMalformed(step);
      case 'invalid-request':
        return this.sendInvalid(step);
      case 'schedule-change':
        return this.changeSchedule(step);
      case 'hold-back':
        return this.holdBack(step);
    }
  }

  /** The operator publishes a cutoff schedule version, as the runbook says; from then on the checks expect it. */
  private async changeSchedule(step: PlannedScheduleChange): Promise<void> {
    this.deps.progress.count('operator actions');
    const version: ScheduleVersion = { periodMs: step.periodMs, effectiveFrom: this.firstCutoffAt + step.effectiveFrom };
    const startedAt = Date.now();
    this.publishing = this.operator.publishScheduleVersion(version);
    await this.publishing;
    this.operatorActions.published.push({ version, startedAt, doneAt: Date.now() });
    this.schedule.push(version);
  }

  /** Clearing held still across a cutoff: what happens meanwhile reaches it only afterwards. */
  private async holdBack(step: PlannedHoldBack): Promise<void> {
    this.deps.progress.count('operator actions');
    // One operator action at a time: a rolling restart still under way finishes first.
    await this.publishing?.catch(() => undefined);
    await this.operator.holdClearing();
    const from = Date.now();
    try {
      await sleep(this.firstCutoffAt + step.until - Date.now());
    } finally {
      this.operatorActions.heldBack.push({ from, until: Date.now() });
      await this.operator.releaseClearing();
    }
  }

  private record<T>(map: Map<string, T[]>, key: string, value: T): void {
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  }

  private async pay(payment: PlannedPayment): Promise<void> {
    this.deps.progress.count('payments');
    if (payment.via === 'KAFKA') {
      await this.producer?.send([
        envelopeFor(Topics.paymentCommands, 'pos.payment.requested', `pay-${payment.outTradeNo}`, payment.merchantId, paymentBody(payment)),
      ]);
      return;
    }
    const send = async (modified = false) => {
      const answer = await this.deps.client.submitPayment(payment.merchantId, paymentBody(payment, modified));
      this.record(this.payments, payment.outTradeNo, answer);
      if (answer.status < 300 && typeof answer.body['paymentId'] === 'string') this.paymentIds.set(payment.outTradeNo, answer.body['paymentId']);
    };
    if (payment.duplicate === 'CONCURRENT') await Promise.all([send(), send()]);
    else await send();
    if (payment.duplicate === 'IDENTICAL') await send();
    if (payment.duplicate === 'MODIFIED') await send(true);
  }

  /** As a terminal does before a card void over Kafka: the supervisor's credential goes over HTTP, its authorisation's id on the topic. */
  private async supervisorAuthorisation(step: PlannedVoid): Promise<string> {
    const answer = await this.deps.client.authoriseSupervisor(step.merchantId, {
      terminalId: step.payment.terminalId,
      outTradeNo: step.payment.outTradeNo,
      supervisor: { operatorId: DEMO_SUPERVISOR, credential: this.deps.client.supervisorCredentialOf(step.merchantId) },
    });
    const authorisationId = answer.body['authorisationId'];
    if (answer.status !== 201 || typeof authorisationId !== 'string') {
      throw new Error(`supervisor authorisation for ${step.idempotencyKey}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
    }
    return authorisationId;
  }

  private voidBody(step: PlannedVoid, idempotencyKey: string): Record<string, unknown> {
    const { payment } = step;
    return {
      idempotencyKey,
      merchantId: step.merchantId,
      terminalId: payment.terminalId,
      outTradeNo: payment.outTradeNo,
      amountFen: step.amountFen,
      operatorId: 'CASHIER-1',
      ...(payment.card ? { card: { batchNo: payment.card.batchNo, voucherNo: payment.card.voucherNo } } : {}),
      ...(step.withSupervisor ? { supervisor: { operatorId: DEMO_SUPERVISOR, credential: this.deps.client.supervisorCredentialOf(step.merchantId) } } : {}),
    };
  }

  private async voidPayment(step: PlannedVoid): Promise<void> {
    this.deps.progress.count('voids');
    if (step.variant === 'VIA_KAFKA') {
      this.voidCommandsSentAt.set(step.idempotencyKey, Date.now());
      const body = this.voidBody(step, step.idempotencyKey);
      if (body['supervisor']) body['supervisor'] = { authorisationId: await this.supervisorAuthorisation(step) };
      await this.producer?.send([envelopeFor(Topics.voidCommands, 'pos.void.requested', `void-cmd-${step.idempotencyKey}`, step.merchantId, body)]);
      return;
    }
    // As a terminal does: an answer that is not final (retry later) is asked again with the same key.
    const send = async (key: string) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await this.deps.client.requestVoid(step.merchantId, this.voidBody(step, key));
        this.record(this.voids, key, answer);
        if (answer.body['final'] !== false || attempt >= VOID_ATTEMPTS) return;
        await new Promise((resolve) => setTimeout(resolve, VOID_RETRY_MS));
      }
    };
    if (step.variant === 'PARKED_AND_REPLAYED') {
      await this.parkAndReplay(step, send);
    } else if (step.variant === 'DOUBLE') {
      await Promise.all([send(step.idempotencyKey), send(`${step.idempotencyKey}-b`)]);
    } else if (step.variant === 'RETRIED') {
      // A client that timed out and retries: the same key, several times, some at once.
      await Promise.all([send(step.idempotencyKey), send(step.idempotencyKey)]);
      await send(step.idempotencyKey);
    } else {
      await send(step.idempotencyKey);
    }
  }

  /**
   * A void accepted while clearing refuses to write it: clearing parks it on voids.events.v1.dlq
   * after its attempts. The cause is then fixed; after the cutoff the void service closes the
   * batch's gate counting the void, and clearing, short of it, keeps the batch CLOSING. The driver
   * looks (the clearing API), and replays the dead letter with the operator CLI, as the runbook says.
   */
  private async parkAndReplay(step: PlannedVoid, send: (key: string) => Promise<void>): Promise<void> {
    const key = step.idempotencyKey;
    const done = (replay: Omit<ParkedVoidReplay, 'idempotencyKey'>) => {
      this.operatorActions.replays.push({ idempotencyKey: key, ...replay });
    };
    const paymentId = this.paymentIds.get(step.payment.outTradeNo);
    if (!paymentId) return done({ problem: 'its payment was not accepted over HTTP' });
    await this.operator.refuseVoidWrites(paymentId);
    let parked: ObservedEvent | undefined;
    try {
      await send(key);
      parked = await this.waitForEvent(deadLetterTopicOf(Topics.voidEvents), (e) => e.type === 'pos.void.accepted' && e.data?.['idempotencyKey'] === key, 20_000);
    } finally {
      await this.operator.allowVoidWrites();
    }
    if (!parked) return done({ paymentId, problem: 'clearing did not park the accepted void' });
    const batchId = String(parked.data?.['batchId']);
    const deadLetter = `${parked.partition}:${parked.offset}`;
    const gate = await this.waitForEvent(Topics.voidEvents, (e) => e.type === 'pos.void.gate-closed' && e.data?.['batchId'] === batchId, 60_000);
    let closingSeenAt: number | undefined;
    if (gate) {
      for (const until = Date.now() + 10_000; closingSeenAt === undefined && Date.now() < until; await sleep(250)) {
        const batch = (await this.deps.client.batches(step.merchantId)).find((b) => b['batchId'] === batchId);
        if (batch?.['state'] === 'CLOSING') closingSeenAt = Date.now();
        else if (batch?.['state'] !== 'OPEN') break;
      }
    }
    const replayedAt = Date.now();
    const cliOutput = await this.operator.replayDeadLetter(deadLetterTopicOf(Topics.voidEvents), deadLetter);
    return done({
      paymentId,
      batchId,
      deadLetter,
      ...(closingSeenAt === undefined ? { problem: gate ? 'the batch was not seen CLOSING' : 'its gate never closed' } : { closingSeenAt }),
      replayedAt,
      cliOutput,
    });
  }

  /** Polls one topic (from the day's start) until an event matches, or the time is up. */
  private async waitForEvent(topic: string, matches: (event: ObservedEvent) => boolean, withinMs: number): Promise<ObservedEvent | undefined> {
    for (const until = Date.now() + withinMs; Date.now() < until; await sleep(500)) {
      const found = (await this.readSince(this.startOffsets, [topic])).find(matches);
      if (found) return found;
    }
    return undefined;
  }

  private async settle(step: PlannedSettlement): Promise<void> {
    this.deps.progress.count('settlements');
    const { merchantId, terminalId, batchNo } = step;
    const answer = await this.deps.client.settleTerminal({ merchantId, terminalId, batchNo, requestedBy: 'OPERATOR-1' });
    this.settlements.push({ merchantId, terminalId, batchNo, sentAt: answer.sentAt, answeredAt: answer.answeredAt, answer });
  }

  private async sendMalformed(step: PlannedMalformed): Promise<void> {
    this.deps.progress.count('bad messages');
    const topic = step.topic as TopicName;
    const type = topic === Topics.paymentCommands ? 'pos.payment.requested' : 'pos.void.requested';
    let message: OutboundMessage;
    if (step.variant === 'BAD_JSON') {
      message = { ...envelopeFor(topic, type, step.eventId, step.merchantId, {}), value: '{"merchantId": "M001", "amountFen": 1' };
    } else if (step.variant === 'UNKNOWN_VERSION') {
      message = envelopeFor(topic, type, step.eventId, step.merchantId, { merchantId: step.merchantId }, 99);
    } else if (step.variant === 'UNKNOWN_TYPE') {
      message = envelopeFor(topic, `${type}.v2-experimental`, step.eventId, step.merchantId, { merchantId: step.merchantId });
    } else {
      message = envelopeFor(topic, type, step.eventId, step.merchantId, { merchantId: step.merchantId, amountFen: 12.5, currency: 'USD' });
    }
    await this.producer?.send([message]);
  }

  private async sendInvalid(step: PlannedInvalidRequest): Promise<void> {
    const base = {
      merchantId: step.merchantId,
      terminalId: 'POS-1',
      channel: 'WECHAT',
      amountFen: 100,
      currency: 'CNY',
      outTradeNo: `BAD-${step.variant}`,
      paymentCode: '134567890123456700',
    };
    const variants: Record<PlannedInvalidRequest['variant'], Record<string, unknown>> = {
      ZERO_AMOUNT: { ...base, amountFen: 0 },
      NEGATIVE_AMOUNT: { ...base, amountFen: -100 },
      FRACTIONAL_AMOUNT: { ...base, amountFen: 12.5 },
      WRONG_CURRENCY: { ...base, currency: 'USD' },
      CARD_WITHOUT_BATCH: { ...base, channel: 'UNIONPAY_CARD', paymentCode: undefined, card: { cardRef: 'tok_1234567890' } },
    };
    this.invalidRequests.push({ variant: step.variant, answer: await this.deps.client.submitPayment(step.merchantId, variants[step.variant]) });
  }

  /** Reads this run's events until every batch that holds one of its payments is closed, or the deadline. */
  private async observeUntilClosed(startOffsets: Offsets, deadline: number): Promise<ObservedEvent[]> {
    for (;;) {
      const events = await this.readSince(startOffsets);
      const assigned = new Set<string>();
      const closed = new Set<string>();
      for (const event of events) {
        if (event.type === 'pos.clearing.batch.opened') assigned.add(String(event.data?.['batchId']));
        if (event.type === 'pos.clearing.batch.closed') closed.add(String(event.data?.['batchId']));
      }
      const open = [...assigned].filter((b) => !closed.has(b));
      this.deps.progress.status(`${closed.size}/${assigned.size} batches closed`);
      if ((open.length === 0 && assigned.size > 0) || Date.now() > deadline) return events;
      await sleep(2_000);
    }
  }

  private async readSince(startOffsets: Offsets, topics: readonly string[] = OBSERVED_TOPICS): Promise<ObservedEvent[]> {
    const now = await this.deps.broker.topicOffsets([...topics]);
    const ranges: ReadRange[] = [];
    for (const topic of now) {
      for (const partition of topic.partitions) {
        const from = startOffsets.find((t) => t.topic === topic.topic)?.partitions.find((p) => p.partition === partition.partition)?.high ?? partition.low;
        if (BigInt(partition.high) > BigInt(from)) ranges.push({ topic: topic.topic, partition: partition.partition, from, until: partition.high });
      }
    }
    const events: ObservedEvent[] = [];
    await this.deps.broker.readMessages(ranges, async (message: InboundMessage) => {
      events.push(toObserved(message));
    });
    return events.sort((a, b) => a.timestamp - b.timestamp);
  }

  /**
   * The reconciliation files on disk of the clearing dates of the batches that closed, read again
   * until every closed batch has its own file (clearing writes them shortly after the close) or
   * the deadline passes; a batch still without one is then reported by the checks.
   */
  private async readFilesOfClosedBatches(events: readonly ObservedEvent[], deadline: number): Promise<ReconciliationFile[]> {
    const closed = events.filter((e) => e.type === 'pos.clearing.batch.closed');
    const dates = new Set(closed.map((e) => String(e.data?.['clearingDate'])));
    for (;;) {
      const files = await readReconciliationFiles(this.deps.reconciliationDir, dates);
      const written = new Set(files.filter((f) => !f.dayFile).flatMap((f) => [...f.batchTotals.keys()]));
      const waiting = closed.filter((e) => !written.has(String(e.data?.['batchId']))).length;
      this.deps.progress.status(`${closed.length - waiting}/${closed.length} reconciliation files on disk`);
      if (waiting === 0 || Date.now() > deadline) return files;
      await sleep(1_000);
    }
  }

  /** The clearing API's view of every batch the run saw open or close. */
  private async observeBatches(events: readonly ObservedEvent[]): Promise<ObservedBatch[]> {
    const batchEvents = events.filter((e) => e.type === 'pos.clearing.batch.opened' || e.type === 'pos.clearing.batch.closed');
    const ids = new Set(batchEvents.map((e) => String(e.data?.['batchId'])));
    const merchants = new Set(batchEvents.map((e) => String(e.data?.['merchantId'])));
    const batches: ObservedBatch[] = [];
    for (const merchantId of merchants) {
      for (const raw of await this.deps.client.batches(merchantId)) {
        if (ids.has(String(raw['batchId']))) batches.push(raw as unknown as ObservedBatch);
      }
    }
    return batches.sort((a, b) => a.opensAt.localeCompare(b.opensAt) || a.batchId.localeCompare(b.batchId));
  }
}

function toObserved(message: InboundMessage): ObservedEvent {
  let data: Record<string, unknown> | undefined;
  try {
    data = message.value ? (JSON.parse(message.value.toString('utf8')) as Record<string, unknown>) : undefined;
  } catch {
    data = undefined;
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: message.key,
    headers: message.headers,
    id: message.headers[CloudEventHeaders.id],
    type: message.headers[CloudEventHeaders.type],
    data,
    timestamp: message.timestamp,
  };
}
