import { Static, TObject, Type } from '@sinclair/typebox';
import {
  AmountFen,
  BatchId,
  BusinessDate,
  CardBatchNo,
  CardDetails,
  Channel,
  CountOrFen,
  Currency,
  FenTotal,
  Identifier,
  Instant,
  OutTradeNo,
  Uuid,
} from './primitives';
import { BatchCloseReasons, PaymentFailureReasons, Remedies, VoidRejectionReasons } from './reasons';
import { Producer, TopicProducers } from './sources';
import { TopicName, Topics } from './topics';

/** A string enum whose static type is the union of its values. */
const literalUnion = <T extends readonly string[]>(values: T) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
const strict = { additionalProperties: false } as const;

// ---------- payments ----------

export const PaymentRequested = Type.Object(
  {
    merchantId: Identifier,
    terminalId: Identifier,
    channel: Channel,
    amountFen: AmountFen,
    currency: Currency,
    outTradeNo: OutTradeNo,
    /** WeChat/Alipay payment code scanned from the customer's phone (付款码); never logged. */
    paymentCode: Type.Optional(Type.String({ pattern: '^[0-9]{16,24}$' })),
    /** Card payments: a token for the card (never a PAN) and the terminal's batch and voucher numbers. */
    card: Type.Optional(Type.Object({ cardRef: Type.String({ minLength: 4, maxLength: 64 }), ...CardDetails.properties }, strict)),
  },
  strict,
);

const PaymentFacts = {
  paymentId: Uuid,
  merchantId: Identifier,
  terminalId: Identifier,
  channel: Channel,
  amountFen: AmountFen,
  currency: Currency,
  outTradeNo: OutTradeNo,
  card: Type.Optional(CardDetails),
};

export const PaymentSucceeded = Type.Object(
  { ...PaymentFacts, succeededAt: Instant, channelTradeNo: Type.String({ minLength: 1, maxLength: 64 }) },
  strict,
);
export const PaymentPending = Type.Object({ ...PaymentFacts, pendingSince: Instant }, strict);
export const PaymentFailed = Type.Object(
  { ...PaymentFacts, failedAt: Instant, reason: literalUnion(PaymentFailureReasons) },
  strict,
);
export const PaymentReversed = Type.Object(
  { ...PaymentFacts, reversedAt: Instant, reason: Type.String({ minLength: 1, maxLength: 200 }) },
  strict,
);

// ---------- clearing ----------

export const TerminalSettlementRequested = Type.Object(
  {
    merchantId: Identifier,
    terminalId: Identifier,
    batchNo: CardBatchNo,
    requestedBy: Identifier,
  },
  strict,
);

const BatchIdentity = {
  batchId: BatchId,
  merchantId: Identifier,
  channel: Channel,
  terminalId: Type.Optional(Identifier),
  batchNo: Type.Optional(CardBatchNo),
  clearingDate: BusinessDate,
};

export const BatchOpened = Type.Object({ ...BatchIdentity, opensAt: Instant, closesAt: Instant }, strict);

/** Clearing asks the void service to close its gate for the batch; the close completes on the answer. */
export const BatchClosing = Type.Object(
  { ...BatchIdentity, reason: literalUnion(BatchCloseReasons), cutoffAt: Instant },
  strict,
);

export const PaymentCleared = Type.Object(
  { paymentId: Uuid, merchantId: Identifier, batchId: BatchId, amountFen: AmountFen, clearedAt: Instant },
  strict,
);

export const BatchClosed = Type.Object(
  {
    ...BatchIdentity,
    reason: literalUnion(BatchCloseReasons),
    closedAt: Instant,
    paymentCount: CountOrFen,
    totalFen: FenTotal,
    voidedCount: CountOrFen,
    voidedFen: FenTotal,
    settlementDate: BusinessDate,
  },
  strict,
);

export const BatchSettled = Type.Object({ ...BatchIdentity, settlementDate: BusinessDate, settledAt: Instant }, strict);

// ---------- voids ----------

export const VoidRequested = Type.Object(
  {
    idempotencyKey: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }),
    merchantId: Identifier,
    terminalId: Identifier,
    paymentId: Type.Optional(Uuid),
    outTradeNo: Type.Optional(OutTradeNo),
    amountFen: AmountFen,
    operatorId: Identifier,
    card: Type.Optional(CardDetails),
    /**
     * Card voids: the supervisor's authorisation, issued by the void service over HTTP
     * (`POST /v1/supervisor-authorisations`) for this merchant, terminal and payment; single-use and
     * short-lived. A supervisor credential (主管密码) never travels on Kafka: a command carrying one
     * is parked, without it, as SECRET_IN_MESSAGE.
     */
    supervisor: Type.Optional(Type.Object({ authorisationId: Uuid }, strict)),
  },
  strict,
);

// ---------- supervisor authorisation (HTTP only: a credential never travels on Kafka) ----------

/** A supervisor's operator id and credential (主管密码), as a terminal presents them to the void service over HTTP. */
export const SupervisorCredential = Type.Object({ operatorId: Identifier, credential: Type.String({ minLength: 4, maxLength: 128 }) }, strict);

/** `POST /v1/supervisor-authorisations`: one void of one payment on one terminal (paymentId, outTradeNo or both). */
export const SupervisorAuthorisationRequest = Type.Object(
  { terminalId: Identifier, paymentId: Type.Optional(Uuid), outTradeNo: Type.Optional(OutTradeNo), supervisor: SupervisorCredential },
  strict,
);

const VoidDecisionFacts = {
  voidId: Uuid,
  idempotencyKey: Type.String({ minLength: 8, maxLength: 64 }),
  merchantId: Identifier,
  terminalId: Identifier,
  decidedAt: Instant,
  /** The deadline that applied to this void (cutoff or channel window), when one was known. */
  deadline: Type.Optional(Instant),
};

export const VoidAccepted = Type.Object(
  {
    ...VoidDecisionFacts,
    paymentId: Uuid,
    outTradeNo: OutTradeNo,
    channel: Channel,
    amountFen: AmountFen,
    batchId: BatchId,
  },
  strict,
);

export const VoidRejected = Type.Object(
  {
    ...VoidDecisionFacts,
    paymentId: Type.Optional(Uuid),
    outTradeNo: Type.Optional(OutTradeNo),
    reason: literalUnion(VoidRejectionReasons),
    remedy: literalUnion(Remedies),
    message: Type.String({ maxLength: 500 }),
  },
  strict,
);

/**
 * For a notification system: what to tell the customer about a void, sent once the channel undid
 * the payment (ADR 0008), never at the decision.
 */
export const VoidConfirmed = Type.Object(
  {
    voidId: Uuid,
    paymentId: Uuid,
    merchantId: Identifier,
    channel: Channel,
    amountFen: AmountFen,
    confirmedAt: Instant,
    customerMessage: Type.Object({ zh: Type.String({ maxLength: 300 }), en: Type.String({ maxLength: 300 }) }, strict),
  },
  strict,
);

/** How a channel undoes a payment: WeChat reverse, Alipay cancel, UnionPay 消费撤销. */
const UndoOperation = literalUnion(['WECHAT_REVERSE', 'ALIPAY_CANCEL', 'UNIONPAY_VOID'] as const);
/** A channel's own answer code: WeChat `REVERSE_EXPIRE`, Alipay `ACQ.TRADE_CANCEL_TIME_OUT`, UnionPay `12`... */
const ChannelCode = Type.String({ minLength: 1, maxLength: 64 });

/** The channel undid the payment of an accepted void (ADR 0008): the money goes back the way it came. */
export const VoidExecuted = Type.Object(
  {
    voidId: Uuid,
    paymentId: Uuid,
    merchantId: Identifier,
    batchId: BatchId,
    channel: Channel,
    operation: UndoOperation,
    channelReference: Type.String({ minLength: 1, maxLength: 64 }),
    /** Calls made to the channel, this one included. */
    attempts: Type.Integer({ minimum: 1 }),
    executedAt: Instant,
  },
  strict,
);

/**
 * The channel refused for good to undo the payment of an accepted void (ADR 0008): the payment is
 * not voided after all and is cleared with its batch; the merchant refunds it instead.
 */
export const VoidChannelRefused = Type.Object(
  {
    voidId: Uuid,
    paymentId: Uuid,
    merchantId: Identifier,
    batchId: BatchId,
    channel: Channel,
    operation: UndoOperation,
    outTradeNo: OutTradeNo,
    amountFen: AmountFen,
    /** When the void was accepted (its pos.void.accepted's decidedAt). */
    decidedAt: Instant,
    channelCode: ChannelCode,
    attempts: Type.Integer({ minimum: 1 }),
    refusedAt: Instant,
    remedy: Type.Literal('REFUND'),
    message: Type.String({ maxLength: 500 }),
  },
  strict,
);

/**
 * The void service's answer to BatchClosing, once every void accepted for the batch has a final
 * execution at its channel (ADR 0008): no void for this batch is accepted after this event.
 * `acceptedVoids` counts the voids whose exclusion stands (executed); `refusedVoids` those the
 * channel refused (absent in events written before ADR 0008: none).
 */
export const VoidGateClosed = Type.Object(
  { batchId: BatchId, merchantId: Identifier, closedAt: Instant, acceptedVoids: CountOrFen, refusedVoids: Type.Optional(CountOrFen) },
  strict,
);

// ---------- the registry ----------

export interface MessageContract {
  readonly topic: TopicName;
  /** CloudEvents `type`. */
  readonly type: string;
  readonly schemaVersion: number;
  readonly kind: 'command' | 'event';
  /** Who may send it: consumers dead-letter a message whose `ce_source` this does not allow (FORGED_SOURCE). */
  readonly producer: Producer;
  readonly summary: string;
  readonly schema: TObject;
  /**
   * Fields (JSON Pointers into the payload) that must never travel on Kafka. A consumer parks a
   * message carrying one as SECRET_IN_MESSAGE, with the field removed from the parked copy.
   */
  readonly forbiddenFields?: readonly string[];
}

const contract = (
  topic: TopicName,
  type: string,
  kind: MessageContract['kind'],
  schema: TObject,
  summary: string,
  schemaVersion = 1,
): MessageContract => ({ topic, type, schemaVersion, kind, producer: TopicProducers[topic], schema, summary });

/**
 * Version 2 of every message carrying a batch id: the id's pattern and length widened for
 * percent-encoded fields and the Asia/Shanghai offset (`%`, `+`); batch.closed also carries fen
 * totals above 2^53 - 1 as decimal strings. See docs/contracts.md.
 */
const BATCH_ID_REVISION = 2;
/** Version 3 of pos.void.gate-closed: the optional `refusedVoids` (ADR 0008). See docs/contracts.md. */
const REFUSED_VOIDS_REVISION = 3;

/** Every message the system produces or consumes, with its schema. The AsyncAPI document is built from this. */
export const MessageContracts: readonly MessageContract[] = [
  contract(Topics.paymentCommands, 'pos.payment.requested', 'command', PaymentRequested, 'Record a POS payment (upstream producers)'),
  contract(Topics.paymentEvents, 'pos.payment.succeeded', 'event', PaymentSucceeded, 'The channel confirmed the payment'),
  contract(Topics.paymentEvents, 'pos.payment.pending', 'event', PaymentPending, 'The customer is still paying (USERPAYING)'),
  contract(Topics.paymentEvents, 'pos.payment.failed', 'event', PaymentFailed, 'The channel declined the payment'),
  contract(Topics.paymentEvents, 'pos.payment.reversed', 'event', PaymentReversed, 'Reversed (冲正) after a timeout'),
  contract(Topics.clearingCommands, 'pos.clearing.terminal-settlement.requested', 'command', TerminalSettlementRequested, 'Manual terminal settlement (结算)'),
  contract(Topics.clearingEvents, 'pos.clearing.batch.opened', 'event', BatchOpened, 'A settlement batch opened', BATCH_ID_REVISION),
  contract(Topics.clearingEvents, 'pos.clearing.batch.closing', 'event', BatchClosing, 'Clearing asks the void service to close the batch gate', BATCH_ID_REVISION),
  contract(Topics.clearingEvents, 'pos.clearing.payment.cleared', 'event', PaymentCleared, 'A payment was cleared in a closed batch', BATCH_ID_REVISION),
  contract(Topics.clearingEvents, 'pos.clearing.batch.closed', 'event', BatchClosed, 'A batch closed with exact totals', BATCH_ID_REVISION),
  contract(Topics.clearingEvents, 'pos.clearing.batch.settled', 'event', BatchSettled, 'A batch was settled (T+1 working day)', BATCH_ID_REVISION),
  { ...contract(Topics.voidCommands, 'pos.void.requested', 'command', VoidRequested, 'Void (撤销) a payment (upstream producers)'), forbiddenFields: ['/supervisor/credential'] },
  contract(Topics.voidEvents, 'pos.void.accepted', 'event', VoidAccepted, 'A void was accepted', BATCH_ID_REVISION),
  contract(Topics.voidEvents, 'pos.void.rejected', 'event', VoidRejected, 'A void was rejected, with reason and remedy'),
  contract(Topics.voidEvents, 'pos.void.confirmed', 'event', VoidConfirmed, 'Customer notice for a void the channel executed'),
  contract(Topics.voidEvents, 'pos.void.executed', 'event', VoidExecuted, 'The channel undid the payment of an accepted void', BATCH_ID_REVISION),
  contract(Topics.voidEvents, 'pos.void.channel-refused', 'event', VoidChannelRefused, 'The channel refused for good to undo an accepted void: refund instead', BATCH_ID_REVISION),
  contract(Topics.voidEvents, 'pos.void.gate-closed', 'event', VoidGateClosed, 'No more voids for a batch, every one executed or refused: clearing may close it', REFUSED_VOIDS_REVISION),
];

export type PaymentRequested = Static<typeof PaymentRequested>;
export type PaymentSucceeded = Static<typeof PaymentSucceeded>;
export type PaymentPending = Static<typeof PaymentPending>;
export type PaymentFailed = Static<typeof PaymentFailed>;
export type PaymentReversed = Static<typeof PaymentReversed>;
export type TerminalSettlementRequested = Static<typeof TerminalSettlementRequested>;
export type BatchOpened = Static<typeof BatchOpened>;
export type BatchClosing = Static<typeof BatchClosing>;
export type PaymentCleared = Static<typeof PaymentCleared>;
export type BatchClosed = Static<typeof BatchClosed>;
export type BatchSettled = Static<typeof BatchSettled>;
export type VoidRequested = Static<typeof VoidRequested>;
export type VoidAccepted = Static<typeof VoidAccepted>;
export type VoidRejected = Static<typeof VoidRejected>;
export type VoidConfirmed = Static<typeof VoidConfirmed>;
export type VoidGateClosed = Static<typeof VoidGateClosed>;
export type VoidExecuted = Static<typeof VoidExecuted>;
export type VoidChannelRefused = Static<typeof VoidChannelRefused>;

export function contractsOf(topic: string): MessageContract[] {
  return MessageContracts.filter((c) => c.topic === topic);
}

export function contractFor(topic: string, type: string): MessageContract | undefined {
  return MessageContracts.find((c) => c.topic === topic && c.type === type);
}

/** The forbidden fields (see MessageContract.forbiddenFields) that this payload carries. */
export function forbiddenFieldsIn(contract: MessageContract, data: unknown): string[] {
  return (contract.forbiddenFields ?? []).filter((pointer) => {
    let node: unknown = data;
    for (const name of pointer.split('/').slice(1)) {
      if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, name)) return false;
      node = (node as Record<string, unknown>)[name];
    }
    return true;
  });
}

/** A copy of the payload without the fields at these JSON Pointers (the rest untouched). */
export function withoutFields(data: unknown, pointers: readonly string[]): unknown {
  const copy: unknown = structuredClone(data);
  for (const pointer of pointers) {
    const path = pointer.split('/').slice(1);
    let node: unknown = copy;
    for (const name of path.slice(0, -1)) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[name] : undefined;
    if (typeof node === 'object' && node !== null) delete (node as Record<string, unknown>)[path[path.length - 1]];
  }
  return copy;
}
