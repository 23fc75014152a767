import { CloudEventHeaders, deadLetterTopicOf, MessageContracts, parseTraceparent } from '@pos/contracts';
import { DeadLetterHeaders, decodeEnvelope, InboundMessage, MessageValidator, ReplayHeaders } from '@pos/messaging';

/** Everything an operator (or a script, with `--json`) needs to know about one Kafka message. */
export interface MessageRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Broker/producer timestamp, RFC 3339 UTC. */
  readonly timestamp: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly event?: {
    readonly id: string;
    readonly type: string;
    readonly source: string;
    readonly time: string;
    readonly schemaVersion: number;
    readonly subject?: string;
    /** W3C trace id of the event's `ce_traceparent`: the trace of the request or event that caused it. */
    readonly traceId?: string;
  };
  /** The JSON payload, secrets masked; absent when the value is not JSON (see `rawValue`). */
  readonly data?: unknown;
  readonly rawValue?: string;
  /** Why the consumers would refuse this message (envelope or schema), if they would. */
  readonly problem?: string;
  readonly deadLetter?: {
    readonly reason: string;
    readonly detail: string;
    readonly sourceTopic: string;
    readonly sourcePartition: number;
    readonly sourceOffset: string;
    readonly consumerGroup: string;
    readonly failedAt: string;
  };
  /** Set on a copy written back by `dlq replay`: the dead-lettered message it replays. */
  readonly replayOf?: string;
}

const deadLetterTopics = new Set<string>(MessageContracts.map((c) => deadLetterTopicOf(c.topic)));
export const isDeadLetterTopic = (topic: string) => deadLetterTopics.has(topic) || topic.endsWith('.dlq');
export const sourceTopicOf = (deadLetterTopic: string) => deadLetterTopic.replace(/\.dlq$/, '');

/** Payment codes and supervisor credentials never reach a terminal or a log (see service-runtime logging). */
const SECRET_FIELDS = new Set(['paymentCode', 'credential', 'password']);
function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? '[REDACTED]' : masked(v)]),
    );
  }
  return value;
}

export function toRecord(message: InboundMessage, validator: MessageValidator): MessageRecord {
  const h = message.headers;
  const dlq = isDeadLetterTopic(message.topic) && h[DeadLetterHeaders.reason] !== undefined;
  const contractTopic = dlq ? (h[DeadLetterHeaders.sourceTopic] ?? sourceTopicOf(message.topic)) : message.topic;
  const text = message.value?.toString('utf8');
  let data: unknown;
  let rawValue: string | undefined;
  try {
    data = text === undefined ? undefined : JSON.parse(text);
  } catch {
    rawValue = text;
  }
  const decoded = decodeEnvelope(message);
  let problem: string | undefined;
  let event: MessageRecord['event'];
  if (!decoded.ok) {
    problem = `${decoded.reason}: ${decoded.detail}`;
  } else {
    const { id, type, source, time, schemaVersion, subject, traceparent } = decoded.envelope;
    const traceId = parseTraceparent(traceparent)?.traceId;
    event = { id, type, source, time, schemaVersion, ...(subject ? { subject } : {}), ...(traceId ? { traceId } : {}) };
    const validation = validator.validate(contractTopic, type, schemaVersion, decoded.envelope.data);
    if (!validation.ok) problem = `${validation.reason}: ${validation.detail}`;
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: new Date(message.timestamp).toISOString(),
    key: message.key,
    headers: h,
    ...(event ? { event } : {}),
    ...(data !== undefined ? { data: masked(data) } : {}),
    ...(rawValue !== undefined ? { rawValue } : {}),
    ...(problem ? { problem } : {}),
    ...(dlq
      ? {
          deadLetter: {
            reason: h[DeadLetterHeaders.reason],
            detail: h[DeadLetterHeaders.detail] ?? '',
            sourceTopic: contractTopic,
            sourcePartition: Number(h[DeadLetterHeaders.sourcePartition] ?? -1),
            sourceOffset: h[DeadLetterHeaders.sourceOffset] ?? '',
            consumerGroup: h[DeadLetterHeaders.consumerGroup] ?? '',
            failedAt: h[DeadLetterHeaders.failedAt] ?? '',
          },
        }
      : {}),
    ...(h[ReplayHeaders.replayOf] ? { replayOf: h[ReplayHeaders.replayOf] } : {}),
  };
}

export interface RecordFilter {
  readonly merchant?: string;
  readonly payment?: string;
  readonly batch?: string;
  readonly types?: readonly string[];
  /** Written to the topic at or after this instant (epoch ms, the message's Kafka timestamp). */
  readonly since?: number;
  /** Written to the topic before this instant (epoch ms). */
  readonly until?: number;
}

export const field = (record: MessageRecord, name: string): string | undefined => {
  const data = record.data;
  if (!data || typeof data !== 'object') return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
};

export function matches(record: MessageRecord, filter: RecordFilter): boolean {
  if (filter.merchant !== undefined && field(record, 'merchantId') !== filter.merchant && record.key !== filter.merchant) return false;
  if (filter.payment !== undefined && field(record, 'paymentId') !== filter.payment && record.event?.subject !== filter.payment) return false;
  if (filter.batch !== undefined && field(record, 'batchId') !== filter.batch && record.event?.subject !== filter.batch) return false;
  if (filter.types?.length && !filter.types.includes(record.event?.type ?? record.headers[CloudEventHeaders.type] ?? '')) return false;
  const written = Date.parse(record.timestamp);
  if (filter.since !== undefined && written < filter.since) return false;
  if (filter.until !== undefined && written >= filter.until) return false;
  return true;
}

/** Business order across topics: the event's own time, then where Kafka put it. */
export function byEventTime(a: MessageRecord, b: MessageRecord): number {
  const time = (r: MessageRecord) => Date.parse(r.event?.time ?? r.timestamp);
  return (
    time(a) - time(b) ||
    Date.parse(a.timestamp) - Date.parse(b.timestamp) ||
    a.topic.localeCompare(b.topic) ||
    a.partition - b.partition ||
    Number(BigInt(a.offset) - BigInt(b.offset))
  );
}

export function position(record: Pick<MessageRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}/${record.offset}`;
}

/** Multi-line text for a terminal. */
export function renderRecord(record: MessageRecord): string {
  const lines: string[] = [];
  const e = record.event;
  lines.push(
    `${e?.time ?? record.timestamp}  ${position(record)}  key=${record.key ?? '(none)'}  ${e ? `${e.type} v${e.schemaVersion}` : '(not a CloudEvent)'}`,
  );
  if (e) lines.push(`  id=${e.id} source=${e.source}${e.subject ? ` subject=${e.subject}` : ''} written=${record.timestamp}${e.traceId ? ` trace=${e.traceId}` : ''}`);
  const d = record.deadLetter;
  if (d) {
    lines.push(`  DEAD-LETTERED ${d.reason}: ${d.detail}`);
    lines.push(`    from ${d.sourceTopic}/${d.sourcePartition}/${d.sourceOffset} by group ${d.consumerGroup} at ${d.failedAt}`);
  } else if (record.problem) {
    lines.push(`  ! consumers would dead-letter this: ${record.problem}`);
  }
  if (record.replayOf) lines.push(`  replay of ${record.replayOf}`);
  const body = record.data !== undefined ? JSON.stringify(record.data, null, 2) : `raw: ${record.rawValue ?? '(null value)'}`;
  lines.push(...body.split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}
