/**
 * CloudEvents 1.0 in Kafka binary content mode: the event attributes travel as `ce_` headers, the
 * value is the JSON data. `ce_schemaversion` is our extension attribute: the version of the
 * payload schema within the topic's major version. `ce_traceparent` is the distributed tracing
 * extension: the W3C trace context of the work that produced the event (see trace-context.ts).
 */
export const CloudEventHeaders = {
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  specVersion: 'ce_specversion',
  subject: 'ce_subject',
  schemaVersion: 'ce_schemaversion',
  traceparent: 'ce_traceparent',
  contentType: 'content-type',
} as const;

export const CLOUD_EVENTS_SPEC_VERSION = '1.0';
/** Longest `ce_id` a consumer accepts (the inbox stores it). */
export const CE_ID_MAX_LENGTH = 200;

/**
 * How a producer must choose a keyed message's partition: murmur2 of the key, as Java's clients
 * and the platform's own producers do (librdkafka: `partitioner=murmur2_random`). One merchant's
 * messages stay in order only if every producer puts its key on the same partition.
 */
export const KEY_PARTITIONER = 'murmur2';
export const JSON_CONTENT_TYPE = 'application/json';

/** An event or command as the services see it, independent of the wire. */
export interface EventEnvelope<TData = unknown> {
  /** Unique per event within its `source` (CloudEvents 1.0): consumers deduplicate on source + id. */
  readonly id: string;
  /** Reverse-DNS style type, e.g. `pos.payment.succeeded`. */
  readonly type: string;
  /** URI-reference of the producer, e.g. `/payment-service`; one the contract allows for the type (see sources.ts). */
  readonly source: string;
  /** RFC 3339 instant with an explicit offset. */
  readonly time: string;
  readonly schemaVersion: number;
  /** The aggregate the event is about (payment id, batch id, ...). */
  readonly subject?: string;
  /** Kafka key: the aggregate whose order matters (merchant or terminal for anything batch-related). */
  readonly key: string;
  readonly data: TData;
  /**
   * Distributed tracing extension: the W3C `traceparent` of the span that produced the event.
   * Decoded only when valid; an event without one (or with a malformed one) starts a new trace.
   */
  readonly traceparent?: string;
}
