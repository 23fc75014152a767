import { CLOUD_EVENTS_SPEC_VERSION, CloudEventHeaders, EventEnvelope, JSON_CONTENT_TYPE } from '@pos/contracts';
import { InboundMessage, OutboundMessage } from './broker.port';

/** Why an inbound message could not be read as an event; travels to the dead-letter topic. */
export type EnvelopeRejection =
  | 'MISSING_HEADER'
  | 'UNSUPPORTED_SPEC_VERSION'
  | 'BAD_SCHEMA_VERSION'
  | 'UNSUPPORTED_CONTENT_TYPE'
  | 'MISSING_KEY'
  | 'MALFORMED_JSON';

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
  const schemaVersionText = h[CloudEventHeaders.schemaVersion];
  if (!/^[1-9][0-9]{0,5}$/.test(schemaVersionText)) {
    return reject('BAD_SCHEMA_VERSION', `ce_schemaversion ${schemaVersionText} is not a positive integer`);
  }
  const contentType = h[CloudEventHeaders.contentType];
  if (contentType !== undefined && !contentType.startsWith(JSON_CONTENT_TYPE)) {
    return reject('UNSUPPORTED_CONTENT_TYPE', `content-type ${contentType} is not ${JSON_CONTENT_TYPE}`);
  }
  if (!message.key) return reject('MISSING_KEY', 'the message has no key');
  let data: unknown;
  try {
    data = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (error) {
    return reject('MALFORMED_JSON', error instanceof Error ? error.message : String(error));
  }
  const subject = h[CloudEventHeaders.subject];
  return {
    ok: true,
    envelope: {
      id: h[CloudEventHeaders.id],
      type: h[CloudEventHeaders.type],
      source: h[CloudEventHeaders.source],
      time: h[CloudEventHeaders.time],
      schemaVersion: Number(schemaVersionText),
      key: message.key,
      data,
      ...(subject ? { subject } : {}),
    },
  };
}
