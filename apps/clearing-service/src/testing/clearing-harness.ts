/**
 * Test support for the clearing service's integration tests and benchmark (not part of the
 * service bundle): plays the payment and void services by producing their events onto real
 * Kafka, observes clearing.events, and reads the service's schema directly.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ChannelName, EventEnvelope, MessageContracts, PaymentSucceeded, Topics, UPSTREAM, VoidAccepted, VoidGateClosed } from '@pos/contracts';
import { encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageConsumer, MessageProducer, NamespacedBroker } from '@pos/messaging';
import { hashApiKey, OperatorRole } from '@pos/service-runtime';
import { KafkaAccess, kafkaClientOf } from '@pos/testing';

export interface Stack extends KafkaAccess {
  readonly postgresUrl: string;
}

/** The operators the clearing specs boot the service with: a viewer, two operators, two approvers. */
export const TEST_OPERATORS = { vera: 'viewer', otto: 'operator', olga: 'operator', anna: 'approver', abel: 'approver' } as const satisfies Record<string, OperatorRole>;
export type TestOperator = keyof typeof TEST_OPERATORS;
const operatorToken = (name: string) => `test-operator-token-${name}`;
const merchantKey = (merchantId: string) => `test-merchant-key-${merchantId}`;

/** A merchant id that API keys can name (letters, digits, `-`), unique to a test. */
export const keyedMerchantId = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

/** OPERATOR_TOKENS for TEST_OPERATORS and MERCHANT_API_KEYS for these merchants, hashed as the service takes them. */
export function clearingAuthEnv(merchantIds: readonly string[] = []): Record<string, string> {
  return {
    OPERATOR_TOKENS: Object.entries(TEST_OPERATORS).map(([name, role]) => `${name}:${role}:${hashApiKey(operatorToken(name))}`).join(','),
    MERCHANT_API_KEYS: merchantIds.map((m) => `${m}:${hashApiKey(merchantKey(m))}`).join(','),
  };
}

export const asOperator = (name: TestOperator = 'vera'): Record<string, string> => ({ authorization: `Bearer ${operatorToken(name)}` });
export const asMerchant = (merchantId: string): Record<string, string> => ({ 'x-api-key': merchantKey(merchantId) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** An event as its producer sends it: another service's under that service's source, a command as an upstream system's. */
export function envelope<T>(type: string, key: string, data: T, id: string = randomUUID()): EventEnvelope<T> {
  const producer = MessageContracts.find((c) => c.type === type)?.producer ?? UPSTREAM;
  const source = producer === UPSTREAM ? '/clearing-test' : producer;
  return { id, type, source, time: new Date().toISOString(), schemaVersion: 1, key, data };
}

let tradeCounter = 0;
export function payment(over: Partial<PaymentSucceeded> & { merchantId: string; succeededAt: string }): PaymentSucceeded {
  tradeCounter += 1;
  const channel: ChannelName = over.channel ?? 'WECHAT';
  return {
    paymentId: randomUUID(),
    terminalId: 'T1',
    channel,
    amountFen: 100,
    currency: 'CNY',
    outTradeNo: `ORDER-${tradeCounter}-${randomUUID().slice(0, 8)}`,
    channelTradeNo: `CH-${tradeCounter}`,
    ...over,
  };
}

export function voidOf(paid: PaymentSucceeded, batchId: string): VoidAccepted {
  return {
    voidId: randomUUID(),
    idempotencyKey: `void-${paid.paymentId}`,
    merchantId: paid.merchantId,
    terminalId: paid.terminalId,
    decidedAt: new Date().toISOString(),
    paymentId: paid.paymentId,
    outTradeNo: paid.outTradeNo,
    channel: paid.channel,
    amountFen: paid.amountFen,
    batchId,
  };
}

/** Kafka as the other services see it, under the test's topic prefix. */
export class Upstream {
  readonly broker: MessageBroker;
  private producer?: MessageProducer;
  private readonly consumers: MessageConsumer[] = [];
  /** Every clearing event seen, in arrival order. */
  readonly clearingEvents: InboundMessage[] = [];
  /** Merchants whose gates the fake void service closes when asked; others' batches stay CLOSING. */
  private readonly answering = new Set<string>();
  private answerAll = false;
  private readonly pendingClosings: { batchId: string; merchantId: string }[] = [];
  readonly gateClosedFor = new Set<string>();

  constructor(stack: Stack, prefix: string) {
    this.broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, `upstream-${prefix}`)), prefix);
  }

  async send(topic: string, envelopes: readonly EventEnvelope[]): Promise<void> {
    this.producer ??= await this.broker.createProducer();
    await this.producer.send(envelopes.map((e) => encodeEnvelope(topic, e)));
  }

  sendRaw(messages: Parameters<MessageProducer['send']>[0]): Promise<void> {
    return (async () => {
      this.producer ??= await this.broker.createProducer();
      await this.producer.send(messages);
    })();
  }

  paid(payments: readonly PaymentSucceeded[]): Promise<void> {
    return this.send(Topics.paymentEvents, payments.map((p) => envelope('pos.payment.succeeded', p.merchantId, p)));
  }

  voided(voids: readonly VoidAccepted[]): Promise<void> {
    return this.send(Topics.voidEvents, voids.map((v) => envelope('pos.void.accepted', v.merchantId, v)));
  }

  /**
   * Plays the void service's side of ADR 0002: answers every pos.clearing.batch.closing with a
   * pos.void.gate-closed on voids.events (key: merchant), but only once the test opens the gate
   * responder, so tests decide when batches may complete their close.
   */
  async observeClearing(groupId: string): Promise<void> {
    // A fresh broker answers COORDINATOR_LOAD_IN_PROGRESS for a while; joining here first also
    // spares the service under test that start-up race.
    for (let attempt = 1; ; attempt++) {
      const consumer = await this.broker.createConsumer({ groupId, topics: [Topics.clearingEvents] });
      try {
        await this.broker.ensureTopics(
          [Topics.clearingEvents, Topics.voidEvents, Topics.paymentEvents, Topics.clearingCommands].map((name) => ({ name, partitions: 3 })),
        );
        await this.runObserver(consumer);
        this.consumers.push(consumer);
        return;
      } catch (error) {
        await consumer.stop().catch(() => undefined);
        if (attempt >= 15) throw error;
        await sleep(1_000);
      }
    }
  }

  private async runObserver(consumer: MessageConsumer): Promise<void> {
    await consumer.run(async (message) => {
      this.clearingEvents.push(message);
      if (message.headers['ce_type'] === 'pos.clearing.batch.closing') {
        const data = JSON.parse((message.value ?? '').toString()) as { batchId: string; merchantId: string };
        this.pendingClosings.push({ batchId: data.batchId, merchantId: data.merchantId });
        await this.answerClosings();
      }
    });
  }

  /** Starts answering closings of these merchants (all merchants when none are given). */
  async answerGates(...merchantIds: string[]): Promise<void> {
    if (merchantIds.length === 0) this.answerAll = true;
    for (const m of merchantIds) this.answering.add(m);
    await this.answerClosings();
  }

  private async answerClosings(): Promise<void> {
    const closings: { batchId: string; merchantId: string }[] = [];
    for (let i = this.pendingClosings.length - 1; i >= 0; i--) {
      const closing = this.pendingClosings[i];
      if (this.answerAll || this.answering.has(closing.merchantId)) closings.unshift(...this.pendingClosings.splice(i, 1));
    }
    if (closings.length === 0) return;
    await this.send(
      Topics.voidEvents,
      closings.map(({ batchId, merchantId }) => {
        this.gateClosedFor.add(batchId);
        const data: VoidGateClosed = { batchId, merchantId, closedAt: new Date().toISOString(), acceptedVoids: 0 };
        return envelope('pos.void.gate-closed', merchantId, data);
      }),
    );
  }

  eventsOfType(type: string): { message: InboundMessage; data: Record<string, unknown> }[] {
    return this.clearingEvents
      .filter((m) => m.headers['ce_type'] === type)
      .map((message) => ({ message, data: JSON.parse((message.value ?? '').toString()) as Record<string, unknown> }));
  }

  /** The first `count` messages of the topic (those `matching`, when given). */
  async collect(topic: string, groupId: string, count: number, timeoutMs = 30_000, matching: (message: InboundMessage) => boolean = () => true): Promise<InboundMessage[]> {
    const received: InboundMessage[] = [];
    const consumer = await this.broker.createConsumer({ groupId, topics: [topic] });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} messages on ${topic}`)), timeoutMs);
        void consumer.run(async (message) => {
          if (!matching(message)) return;
          received.push(message);
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } finally {
      await consumer.stop();
    }
    return received;
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers.splice(0)) await consumer.stop().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.broker.close();
  }
}

/** Direct reads of the clearing schema, for assertions. */
export class ClearingDatabase {
  private constructor(private readonly client: Client) {}

  static async connect(stack: Stack, schema: string): Promise<ClearingDatabase> {
    const client = new Client({ connectionString: stack.postgresUrl, options: `-c search_path=${schema}` });
    await client.connect();
    return new ClearingDatabase(client);
  }

  async query<T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
    return (await this.client.query(sql, values)).rows as T[];
  }

  async assignedCount(): Promise<number> {
    const [row] = await this.query<{ n: number }>(`SELECT count(*)::int AS n FROM batch_payments`);
    return row.n;
  }

  async batchOf(paymentId: string): Promise<string | undefined> {
    const [row] = await this.query<{ batch_id: string }>(`SELECT batch_id FROM batch_payments WHERE payment_id = $1`, [paymentId]);
    return row?.batch_id;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
