/**
 * Builds docs/asyncapi.json, the published Kafka contract, from the code's own contracts: the topic
 * constants (Topics, ConsumedTopics, deadLetterTopicOf), the JSON Schemas of MessageContracts and
 * the header names of the codec, the reliable consumer and the dead-letter replay. The committed
 * file is checked against this output by tools/contracts/generate-asyncapi.spec.ts, so the document
 * and the code cannot drift.
 *
 *   npx ts-node --transpile-only -P tsconfig.integration.json -r tsconfig-paths/register tools/contracts/generate-asyncapi.ts
 *   (add --check to fail instead of writing when the file is stale)
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CE_ID_MAX_LENGTH,
  CLOUD_EVENTS_SPEC_VERSION,
  CloudEventHeaders,
  ConsumedTopics,
  DeadLetterReasons,
  ServiceSources,
  deadLetterTopicOf,
  JSON_CONTENT_TYPE,
  KEY_PARTITIONER,
  MessageContract,
  MessageContracts,
  TopicName,
  Topics,
  UPSTREAM,
} from '@pos/contracts';
import { DeadLetterHeaders, ReplayHeaders } from '@pos/messaging';

export const ASYNCAPI_PATH = join(__dirname, '..', '..', 'docs', 'asyncapi.json');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `pos.clearing.terminal-settlement.requested` -> `ClearingTerminalSettlementRequested`. */
function messageId(type: string): string {
  return type
    .replace(/^pos\./, '')
    .split(/[.-]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** `payments.commands.v1.dlq` -> `paymentsCommandsV1Dlq`. */
function channelId(topic: string): string {
  const words = topic.split('.');
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

/** TypeBox schemas are JSON Schema; the round trip drops TypeBox's symbol-keyed metadata. */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema)) as Json;

const KEY_DESCRIPTION =
  'The merchant id: exactly the payload\'s `merchantId` (otherwise the message is dead-lettered as KEY_MISMATCH). Everything ' +
  "about one merchant shares a partition, so consumers see a merchant's payments, voids and batch events in the order they " +
  `were written (ADR 0002). The partition is ${KEY_PARTITIONER} of the key, as Java's clients and the platform's producers ` +
  'choose it (librdkafka, kcat: `-X partitioner=murmur2_random`); another partitioner puts the merchant on another partition ' +
  'than the platform and its order with the platform\'s own messages is lost (docs/contracts.md).';

function sourceHeader(contract: MessageContract): Json {
  if (contract.producer === UPSTREAM) {
    return {
      type: 'string',
      minLength: 1,
      not: { enum: Object.values(ServiceSources) },
      description:
        'URI-reference of the upstream system, e.g. `/acme-pos-gateway`: one of the sources the deployment accepts commands from (KAFKA_UPSTREAM_SOURCES; when it names none, any but the platform services\' own). Otherwise the message is dead-lettered as FORGED_SOURCE.',
    };
  }
  return { type: 'string', const: contract.producer, description: 'Only this service publishes these; any other source is dead-lettered as FORGED_SOURCE.' };
}

function headersOf(contract: MessageContract): Json {
  const versions = Array.from({ length: contract.schemaVersion }, (_, i) => String(i + 1));
  return {
    type: 'object',
    description:
      'CloudEvents 1.0, Kafka protocol binding, binary content mode: the attributes are UTF-8 string headers, the value is the JSON data.',
    required: [
      CloudEventHeaders.id,
      CloudEventHeaders.type,
      CloudEventHeaders.source,
      CloudEventHeaders.time,
      CloudEventHeaders.specVersion,
      CloudEventHeaders.schemaVersion,
    ],
    properties: {
      [CloudEventHeaders.id]: {
        type: 'string',
        minLength: 1,
        maxLength: CE_ID_MAX_LENGTH,
        description:
          'Unique per event within its ce_source (CloudEvents 1.0); consumers deduplicate on ce_source + ce_id. Re-sending the same event (a retry) must reuse the id and the exact payload; the same source and id with another payload is dead-lettered as MODIFIED_DUPLICATE, a longer id as INVALID_CE_ID.',
      },
      [CloudEventHeaders.type]: { type: 'string', const: contract.type },
      [CloudEventHeaders.source]: sourceHeader(contract),
      [CloudEventHeaders.time]: {
        type: 'string',
        format: 'date-time',
        description: 'RFC 3339 instant with an explicit offset (`Z` or `+08:00`), when the event happened; anything else is dead-lettered as INVALID_CE_TIME',
      },
      [CloudEventHeaders.specVersion]: { type: 'string', const: CLOUD_EVENTS_SPEC_VERSION },
      [CloudEventHeaders.schemaVersion]: {
        type: 'string',
        enum: versions,
        description: `Version of the payload schema within this topic's major version; consumers accept up to ${contract.schemaVersion} (docs/contracts.md).`,
      },
      [CloudEventHeaders.subject]: { type: 'string', description: 'Optional: the aggregate the event is about (payment id, batch id)' },
      [CloudEventHeaders.contentType]: { type: 'string', const: JSON_CONTENT_TYPE, description: 'Optional; when present it must be application/json' },
      [CloudEventHeaders.traceparent]: {
        type: 'string',
        pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
        description:
          'Optional: CloudEvents distributed tracing extension, the W3C Trace Context `traceparent` of the span that produced the event. Every event of the platform carries one: the trace of the HTTP request or event that caused it, in a span of the producing service. A consumer handles the event in a new span of that trace and its own events carry it on; a command without one, or with one that is not valid W3C Trace Context, starts a new trace (never dead-lettered for it). See docs/observability.md.',
      },
      [ReplayHeaders.replayOf]: {
        type: 'string',
        description: 'Only on a copy written back by the operators\' `dlq replay`: the dead-lettered message it replays (`<dlq topic>/<partition>/<offset>`).',
      },
      [ReplayHeaders.replayedAt]: { type: 'string', format: 'date-time', description: 'Only on a replayed copy: when it was replayed' },
    },
  };
}

const deadLetterHeaders: Json = {
  type: 'object',
  description: "The original message's headers (CloudEvents included, unchanged) plus these.",
  required: Object.values(DeadLetterHeaders).filter((name) => name !== DeadLetterHeaders.truncatedFrom),
  properties: {
    [DeadLetterHeaders.reason]: { type: 'string', enum: [...DeadLetterReasons], description: 'Why the consumer parked the message' },
    [DeadLetterHeaders.detail]: { type: 'string', maxLength: 1000, description: 'Human-readable detail: the failed header, the schema errors, the handler message' },
    [DeadLetterHeaders.sourceTopic]: { type: 'string', description: 'The topic the message was consumed from' },
    [DeadLetterHeaders.sourcePartition]: { type: 'string', pattern: '^[0-9]+$' },
    [DeadLetterHeaders.sourceOffset]: { type: 'string', pattern: '^[0-9]+$' },
    [DeadLetterHeaders.consumerGroup]: { type: 'string', description: 'The consumer group that refused it' },
    [DeadLetterHeaders.failedAt]: { type: 'string', format: 'date-time' },
    [DeadLetterHeaders.truncatedFrom]: {
      type: 'string',
      pattern: '^[0-9]+$',
      description:
        'Only when the whole copy was over the dead-letter topic\'s size limit: the original value\'s size in bytes. Value, key and original headers are then cut; the original is at dlq_source_topic/partition/offset.',
    },
  },
};

const kafkaKey = (description: string): Json => ({
  kafka: { key: { type: 'string', minLength: 1, maxLength: 64, description }, bindingVersion: '0.5.0' },
});

const TOPIC_DESCRIPTIONS: Readonly<Record<TopicName, string>> = {
  [Topics.paymentCommands]: 'Commands in: upstream systems (POS gateways) ask the payment service to record payments.',
  [Topics.paymentEvents]: 'Events out: the payment service publishes what happened to each payment; clearing and void consume them.',
  [Topics.clearingCommands]: 'Commands in: manual terminal settlement (结算) requested by a terminal or an operator.',
  [Topics.clearingEvents]: 'Events out: the clearing service publishes the life of settlement batches and the payments cleared in them.',
  [Topics.voidCommands]: 'Commands in: upstream systems ask the void service to void (撤销) a payment.',
  [Topics.voidEvents]: 'Events out: the void service publishes every void decision and closes batch gates (ADR 0002).',
};

export function buildAsyncApiDocument(): Json {
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const schemas: Record<string, Json> = {};

  for (const topic of Object.values(Topics)) {
    const contracts = MessageContracts.filter((c) => c.topic === topic);
    const channel = channelId(topic);
    const channelMessages: Record<string, Json> = {};
    for (const contract of contracts) {
      const id = messageId(contract.type);
      schemas[id] = plain(contract.schema);
      messages[id] = {
        name: contract.type,
        title: contract.type,
        summary: contract.summary,
        contentType: JSON_CONTENT_TYPE,
        headers: headersOf(contract),
        payload: { $ref: `#/components/schemas/${id}` },
        bindings: kafkaKey(KEY_DESCRIPTION),
        'x-schema-version': contract.schemaVersion,
        'x-kind': contract.kind,
      };
      channelMessages[id] = { $ref: `#/components/messages/${id}` };
    }
    channels[channel] = {
      address: topic,
      title: topic,
      description: TOPIC_DESCRIPTIONS[topic],
      messages: channelMessages,
    };
    const kind = contracts[0]?.kind ?? 'event';
    // Actions are the platform's: it receives commands and sends events.
    operations[`${kind === 'command' ? 'receive' : 'send'}${channel.charAt(0).toUpperCase()}${channel.slice(1)}`] = {
      action: kind === 'command' ? 'receive' : 'send',
      channel: { $ref: `#/channels/${channel}` },
      summary:
        kind === 'command'
          ? `Upstream producers send these to ${topic}; invalid ones are parked on ${deadLetterTopicOf(topic)}.`
          : `The platform publishes these on ${topic}.`,
      messages: Object.keys(channelMessages).map((id) => ({ $ref: `#/channels/${channel}/messages/${id}` })),
    };
  }

  messages['DeadLetter'] = {
    name: 'dead-letter',
    title: 'Dead-lettered message',
    summary: 'A message a consumer could not accept, with the reason; value and key are the original bytes.',
    headers: deadLetterHeaders,
    payload: { description: 'The original value, byte for byte (normally the JSON data of the original event, possibly malformed), or its first KiB when dlq_truncated_from is present' },
    bindings: kafkaKey('The original key (may be absent if the original had none)'),
  };
  for (const topic of ConsumedTopics) {
    const dlq = deadLetterTopicOf(topic);
    const channel = channelId(dlq);
    channels[channel] = {
      address: dlq,
      title: dlq,
      description: `Dead-letter topic of ${topic}: malformed, unknown, schema-invalid, forged, mis-keyed, modified-duplicate and handler-rejected messages, parked with the reason (docs/contracts.md lists them). Operators list and replay them with the ops CLI (\`dlq\`).`,
      messages: { DeadLetter: { $ref: '#/components/messages/DeadLetter' } },
    };
    operations[`send${channel.charAt(0).toUpperCase()}${channel.slice(1)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${channel}` },
      summary: `Consumers of ${topic} park messages they cannot accept here.`,
      messages: [{ $ref: `#/channels/${channel}/messages/DeadLetter` }],
    };
  }

  return {
    asyncapi: '3.1.0',
    info: {
      title: 'POS payments platform: Kafka contract',
      version: '1.0.0',
      description: [
        'Every Kafka topic of the POS payments platform (payments, settlement batches/clearing, voids): commands in, events out, dead-letter topics.',
        '',
        'Wire format: CloudEvents 1.0 in Kafka binary content mode. The value is the UTF-8 JSON payload (the schema below, nothing else); the event attributes are `ce_*` headers; the key is the merchant id, partitioned with murmur2 as Java\'s clients do (kcat: `-X partitioner=murmur2_random`).',
        'An event is identified by ce_source + ce_id. Events of the platform\'s topics come only from the service that owns them; commands only from upstream systems.',
        'Tracing: the CloudEvents distributed tracing extension, `ce_traceparent` (W3C Trace Context). Every event of the platform carries the trace of the request or event that caused it; send one with a command to follow it through the platform (docs/observability.md).',
        'Money is integer fen (1/100 CNY), never a float; instants are RFC 3339 with an explicit offset; business dates are Asia/Shanghai.',
        'Topic names carry their major version (`.v1`); compatible changes happen within it, breaking ones get a new topic (docs/contracts.md).',
        '',
        'Generated by tools/contracts/generate-asyncapi.ts from libs/contracts; do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: JSON_CONTENT_TYPE,
    servers: {
      local: {
        host: 'localhost:19092',
        protocol: 'kafka',
        description: 'The docker compose stack (external listener, plaintext, no authentication).',
      },
      secured: {
        host: 'kafka.example:9093',
        protocol: 'kafka-secure',
        description:
          'A deployment\'s brokers, as the test stack runs its own: TLS with the platform\'s CA, SASL/SCRAM-SHA-512, and ACLs per principal (libs/contracts kafkaGrants): upstream systems may write the command topics only (docs/contracts.md, "How an upstream team authenticates").',
        security: [{ $ref: '#/components/securitySchemes/scramSha512' }],
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas,
      securitySchemes: {
        scramSha512: { type: 'scramSha512', description: 'SASL/SCRAM-SHA-512 over TLS; a user name and password per principal.' },
      },
    },
  };
}

export function renderAsyncApiDocument(): string {
  return `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`;
}

if (require.main === module) {
  const text = renderAsyncApiDocument();
  if (process.argv.includes('--check')) {
    const current = readFileSync(ASYNCAPI_PATH, 'utf8');
    if (current !== text) {
      console.error(`${ASYNCAPI_PATH} is stale: run tools/contracts/generate-asyncapi.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(ASYNCAPI_PATH, text);
    console.log(`wrote ${ASYNCAPI_PATH}`);
  }
}
