import fc from 'fast-check';
import { childSpan, continueTrace, formatTraceparent, newTrace, parseTraceparent } from './trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;
const HEX = /^[0-9a-f]+$/;

describe('parseTraceparent', () => {
  it('reads the example of the W3C recommendation', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, spanId: SPAN, flags: '01' });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: '00' });
  });

  it('ignores the optional whitespace around an HTTP header value', () => {
    expect(parseTraceparent(` \t${VALID}\t `)).toEqual({ traceId: TRACE, spanId: SPAN, flags: '01' });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['a long parent id', `00-${TRACE}-${SPAN}0-01`],
    ['a non-hex character', `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more after it', `00-${TRACE}-${SPAN}-01-extra`],
    ['version 00 with one more character', `${VALID}.`],
    ['another separator', `00_${TRACE}_${SPAN}_01`],
    ['two headers joined by a comma', `${VALID}, ${VALID}`],
    ['a later version followed by something else than a dash', `cc-${TRACE}-${SPAN}-01.what`],
    ['a one-character flags field', `00-${TRACE}-${SPAN}-1`],
  ])('refuses %s', (_case, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('reads a later version as far as version 00 goes, keeping only the sampled bit of its flags', () => {
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-09-what-comes-next`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: '01' });
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-02`)).toEqual({ traceId: TRACE, spanId: SPAN, flags: '00' });
  });

  it('reads back what formatTraceparent writes', () => {
    const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`)).filter((h) => /[1-9a-f]/.test(h));
    fc.assert(
      fc.property(hex(32), hex(16), fc.stringMatching(/^[0-9a-f]{2}$/), (traceId, spanId, flags) => {
        expect(parseTraceparent(formatTraceparent({ traceId, spanId, flags }))).toEqual({ traceId, spanId, flags });
      }),
    );
  });
});

describe('new traces and spans', () => {
  it('starts a sampled trace with random, valid ids', () => {
    const traces = Array.from({ length: 200 }, newTrace);
    for (const trace of traces) {
      expect(trace.traceId).toMatch(HEX);
      expect(trace.traceId).toHaveLength(32);
      expect(trace.spanId).toHaveLength(16);
      expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace);
    }
    expect(new Set(traces.map((t) => t.traceId)).size).toBe(traces.length);
    expect(new Set(traces.map((t) => t.spanId)).size).toBe(traces.length);
    expect(traces[0].flags).toBe('01');
  });

  it('gives a child span the trace and flags of its parent and an id of its own', () => {
    const parent = { traceId: TRACE, spanId: SPAN, flags: '00' };
    const child = childSpan(parent);
    expect(child).toEqual({ traceId: TRACE, spanId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: '00' });
    expect(child.spanId).not.toBe(SPAN);
  });

  it('continues the trace of a valid traceparent and starts a new one otherwise', () => {
    const continued = continueTrace(VALID);
    expect(continued.traceId).toBe(TRACE);
    expect(continued.spanId).not.toBe(SPAN);
    for (const value of [undefined, 'garbage', `00-${'0'.repeat(32)}-${SPAN}-01`]) {
      const started = continueTrace(value);
      expect(started.traceId).not.toBe(TRACE);
      expect(parseTraceparent(formatTraceparent(started))).toEqual(started);
    }
  });
});
