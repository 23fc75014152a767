import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (level 1): which trace a piece of work belongs to, and the span that does it.
 * It travels as the `traceparent` HTTP header and, on events, as the CloudEvents distributed
 * tracing extension (`traceparent` attribute; `ce_traceparent` header in Kafka binary mode).
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero: the same on every request and event of one trace. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the span that does this piece of work. */
  readonly spanId: string;
  /** 2 lowercase hex digits; bit 0 is `sampled`. */
  readonly flags: string;
}

/** The only version this implementation writes; a later one is read as far as version 00 goes. */
const VERSION = '00';
/** `version-traceid-parentid-flags`: 2 + 1 + 32 + 1 + 16 + 1 + 2 characters. */
const V00_LENGTH = 55;
const V00 = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** A new trace is marked sampled: its id is written on every log line of the work it causes. */
const SAMPLED = '01';

/**
 * Reads a `traceparent` value; undefined when it is absent or not valid W3C Trace Context, which
 * the caller answers with a new trace, never an error. Surrounding spaces and tabs (HTTP's optional
 * whitespace) are ignored. Version `ff` is invalid; a version above 00 is read as version 00 when
 * its first 55 characters are, and it either ends there or goes on after a dash.
 */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text.length < V00_LENGTH) return undefined;
  const match = V00.exec(text.slice(0, V00_LENGTH));
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match;
  if (version === 'ff') return undefined;
  if (version === VERSION ? text.length !== V00_LENGTH : text.length > V00_LENGTH && text[V00_LENGTH] !== '-') return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  // A later version's flags may use more bits; of those, version 00 knows `sampled` only.
  return { traceId, spanId, flags: version === VERSION ? flags : (parseInt(flags, 16) & 1 ? '01' : '00') };
}

/** The `traceparent` value of a context, in version 00. */
export function formatTraceparent(context: TraceContext): string {
  return `${VERSION}-${context.traceId}-${context.spanId}-${context.flags}`;
}

/** Random bytes drawn a few kilobytes at a time: an id costs no call into the random source of its own. */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const hex = pool.toString('hex', used, used + bytes);
    used += bytes;
    if (hex !== zero) return hex;
  }
}

/** A new trace, with its first span. */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16, ZERO_TRACE), spanId: randomHex(8, ZERO_SPAN), flags: SAMPLED };
}

/** A new span of the same trace, keeping the caller's flags: the work the caller's span caused. */
export function childSpan(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: randomHex(8, ZERO_SPAN), flags: parent.flags };
}

/**
 * The span of work caused by a request or an event with this `traceparent`: a new span of its
 * trace when it is valid, the first span of a new trace when it is absent or malformed.
 */
export function continueTrace(traceparent: string | undefined): TraceContext {
  const parent = parseTraceparent(traceparent);
  return parent ? childSpan(parent) : newTrace();
}
