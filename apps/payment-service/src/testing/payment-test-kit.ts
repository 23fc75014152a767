import { contractFor, EventEnvelope, UPSTREAM } from '@pos/contracts';
import { encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageValidator, NamespacedBroker, OutboundMessage } from '@pos/messaging';
import { hashApiKey } from '@pos/service-runtime';
import { KafkaAccess, kafkaClientOf } from '@pos/testing';
import { randomBytes, randomUUID } from 'node:crypto';

/** Helpers shared by the payment service's integration tests (never imported by production code). */

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export const KEYS = { M100: 'key-m100-0123456789', M200: 'key-m200-0123456789' } as const;
export const MERCHANT_API_KEYS = `M100:${hashApiKey(KEYS.M100)},M200:${hashApiKey(KEYS.M200)}`;

let sequence = 0;
/** A fresh order number and an 18-digit payment code whose last two digits choose the simulated outcome. */
export function walletPayment(ending = '00', overrides: Record<string, unknown> = {}) {
  sequence += 1;
  const unique = `${Date.now() % 1_000_000}${String(sequence).padStart(4, '0')}`;
  return {
    merchantId: 'M100',
    terminalId: 'T1',
    channel: 'WECHAT',
    amountFen: 1999,
    currency: 'CNY',
    outTradeNo: `ORD-${unique}-${randomUUID().slice(0, 8)}`,
    paymentCode: `1345${unique.padStart(12, '0')}${ending}`,
    ...overrides,
  };
}

export async function post(url: string, body: unknown, key: string = KEYS.M100): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function get(url: string, path: string, key: string = KEYS.M100): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, { headers: { 'x-api-key': key } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function brokerFor(kafka: KafkaAccess, prefix: string): MessageBroker {
  return new NamespacedBroker(new KafkajsBroker(kafkaClientOf(kafka, uniqueName('payment-test'))), prefix);
}

/** Everything that arrives on some topics from the beginning, for assertions of "exactly one". */
export class TopicRecorder {
  readonly messages: InboundMessage[] = [];
  private stopper?: () => Promise<void>;

  static async start(broker: MessageBroker, topics: string[]): Promise<TopicRecorder> {
    const recorder = new TopicRecorder();
    for (let attempt = 1; ; attempt++) {
      const consumer = await broker.createConsumer({ groupId: uniqueName('recorder'), topics, fromBeginning: true });
      try {
        await consumer.run(async (message) => {
          recorder.messages.push(message);
        });
        recorder.stopper = () => consumer.stop();
        return recorder;
      } catch (error) {
        // A fresh broker refuses the first joins while it loads its coordinator.
        await consumer.stop().catch(() => undefined);
        if (attempt >= 20) throw error;
        await sleep(500);
      }
    }
  }

  where(predicate: (message: InboundMessage, data: Record<string, unknown>) => boolean): InboundMessage[] {
    return this.messages.filter((m) => {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(m.value?.toString() ?? '{}');
      } catch {
        // Malformed values are still counted by predicates that look at headers only.
      }
      return predicate(m, data);
    });
  }

  forPayment(paymentId: string): InboundMessage[] {
    return this.where((_, data) => data['paymentId'] === paymentId);
  }

  /** Waits until `count` messages match, then a quiet period, so "exactly" means no later duplicate either. */
  async waitFor(predicate: (message: InboundMessage, data: Record<string, unknown>) => boolean, count: number, timeoutMs = 30_000, quietMs = 1_500): Promise<InboundMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.where(predicate).length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.where(predicate).length} of ${count} messages arrived`);
      await sleep(100);
    }
    await sleep(quietMs);
    return this.where(predicate);
  }

  async stop(): Promise<void> {
    await this.stopper?.();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

const validator = new MessageValidator();
/** Asserts CloudEvents headers and that the payload matches its published schema. */
export function expectValidEvent(message: InboundMessage, topic: string, type: string): Record<string, unknown> {
  const data = JSON.parse(message.value?.toString() ?? 'null');
  const result = validator.validate(topic, message.headers['ce_type'], Number(message.headers['ce_schemaversion']), data);
  if (!result.ok) throw new Error(`${type} is not schema-valid: ${result.detail}`);
  if (message.headers['ce_type'] !== type) throw new Error(`expected ${type}, got ${message.headers['ce_type']}`);
  for (const header of ['ce_id', 'ce_source', 'ce_time', 'ce_specversion']) {
    if (!message.headers[header]) throw new Error(`header ${header} missing`);
  }
  return data;
}

/** A message as its producer sends it: another service's event under that service's source, a command as an upstream system's. */
export function command(topic: string, type: string, data: unknown, key: string, overrides: Partial<EventEnvelope> = {}): OutboundMessage {
  const producer = contractFor(topic, type)?.producer ?? UPSTREAM;
  return encodeEnvelope(topic, {
    id: randomUUID(),
    type,
    source: producer === UPSTREAM ? '/upstream-test' : producer,
    time: new Date().toISOString(),
    schemaVersion: 1,
    key,
    data,
    ...overrides,
  });
}
