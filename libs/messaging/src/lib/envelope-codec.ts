import {
  CE_ID_MAX_LENGTH,
  CLOUD_EVENTS_SPEC_VERSION,
  CloudEventHeaders,
  DeadLetterReason,
  EventEnvelope,
  formatTraceparent,
  JSON_CONTENT_TYPE,
  parseTraceparent,
} from '@pos/contracts';
import { InboundMessage, OutboundMessage } from './broker.port';

/**
 * Why an inbound message could not be read as an event; travels to the dead-letter topic. The
 * last three are dead-letter reasons of their own, the others are MALFORMED_ENVELOPE's details.
 */
export type EnvelopeRejection =
  | 'MISSING_HEADER'
  | 'UNSUPPORTED_SPEC_VERSION'
  | 'BAD_SCHEMA_VERSION'
  | 'UNSUPPORTED_CONTENT_TYPE'
  | 'MISSING_KEY'
  | 'MALFORMED_JSON'
  | 'INVALID_CE_ID'
  | 'INVALID_CE_TIME'
  | 'MALFORMED_ENCODING';

/** The `dlq_reason` under which a message the codec rejects is parked. */
export function deadLetterReasonOf(rejection: EnvelopeRejection): DeadLetterReason {
  return rejection === 'INVALID_CE_ID' || rejection === 'INVALID_CE_TIME' || rejection === 'MALFORMED_ENCODING' ? rejection : 'MALFORMED_ENVELOPE';
}

/** RFC 3339 `date-time`: full date, time, and an explicit offset (`Z` or `±hh:mm`). */
const RFC_3339_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

export function isRfc3339Instant(text: string): boolean {
  const match = RFC_3339_INSTANT.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // A real calendar day: no month 13, no 30 February.
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Decodes strictly: bytes that are not UTF-8 are refused, never replaced with U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type DecodeResult =
  | { readonly ok: true; readonly envelope: EventEnvelope<unknown> }
  | { readonly ok: false; readonly reason: EnvelopeRejection; readonly detail: string };

/** Binary-mode CloudEvents: attributes to headers, data to a JSON value. */
export function encodeEnvelope(topic: string, envelope: EventEnvelope<unknown>): OutboundMessage {
  const headers: Record<string, string> = {
    [CloudEventHeaders.id]: envelope.id,
    [CloudEventHeaders.type]: envelope.type,
    [CloudEventHeaders.source]: envelope.source,
    [CloudEventHeaders.time]: envelope.time,
    [CloudEventHeaders.specVersion]: CLOUD_EVENTS_SPEC_VERSION,
    [CloudEventHeaders.schemaVersion]: String(envelope.schemaVersion),
    [CloudEventHeaders.contentType]: JSON_CONTENT_TYPE,
  };
  if (envelope.subject !== undefined) headers[CloudEventHeaders.subject] = envelope.subject;
  if (envelope.traceparent !== undefined) headers[CloudEventHeaders.traceparent] = envelope.traceparent;
  return { topic, key: envelope.key, value: JSON.stringify(envelope.data), headers };
}

function reject(reason: EnvelopeRejection, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

export function decodeEnvelope(message: InboundMessage): DecodeResult {
  const h = message.headers;
  for (const name of [
    CloudEventHeaders.id,
    CloudEventHeaders.type,
    CloudEventHeaders.source,
    CloudEventHeaders.time,
    CloudEventHeaders.specVersion,
    CloudEventHeaders.schemaVersion,
  ]) {
    if (!h[name]) return reject('MISSING_HEADER', `header ${name} is missing or empty`);
  }
  if (h[CloudEventHeaders.specVersion] !== CLOUD_EVENTS_SPEC_VERSION) {
    return reject('UNSUPPORTED_SPEC_VERSION', `ce_specversion ${h[CloudEventHeaders.specVersion]} is not 1.0`);
  }
  const id = h[CloudEventHeaders.id];
  if (id.length > CE_ID_MAX_LENGTH) {
    return reject('INVALID_CE_ID', `ce_id has ${id.length} characters, at most ${CE_ID_MAX_LENGTH} are allowed`);
  }
  const time = h[CloudEventHeaders.time];
  if (!isRfc3339Instant(time)) {
    return reject('INVALID_CE_TIME', `ce_time ${time.slice(0, 60)} is not an RFC 3339 instant with an explicit offset`);
  }
  const schemaVersionText = h[CloudEventHeaders.schemaVersion];
  if (!/^[1-9][0-9]{0,5}$/.test(schemaVersionText)) {
    return reject('BAD_SCHEMA_VERSION', `ce_schemaversion ${schemaVersionText} is not a positive integer`);
  }
  const contentType = h[CloudEventHeaders.contentType];
  if (contentType !== undefined && !contentType.startsWith(JSON_CONTENT_TYPE)) {
    return reject('UNSUPPORTED_CONTENT_TYPE', `content-type ${contentType} is not ${JSON_CONTENT_TYPE}`);
  }
  if (!message.key) return reject('MISSING_KEY', 'the message has no key');
  let text: string;
  try {
    text = message.value ? utf8.decode(message.value) : '';
  } catch {
    return reject('MALFORMED_ENCODING', 'the value is not valid UTF-8');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return reject('MALFORMED_JSON', error instanceof Error ? error.message : String(error));
  }
  const subject = h[CloudEventHeaders.subject];
  // Tracing is never a reason to refuse an event: a malformed traceparent is left out (a new trace).
  const trace = parseTraceparent(h[CloudEventHeaders.traceparent]);
  return {
    ok: true,
    envelope: {
      id,
      type: h[CloudEventHeaders.type],
      source: h[CloudEventHeaders.source],
      time,
      schemaVersion: Number(schemaVersionText),
      key: message.key,
      data,
      ...(subject ? { subject } : {}),
      ...(trace ? { traceparent: formatTraceparent(trace) } : {}),
    },
  };
}
