import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { currentTrace, inTrace } from '@pos/messaging';
import { accessLog, createServiceLogger, JsonLogger, traceRequests } from './logging';

const identity = { name: 'test-service', version: '1.2.3' };

/** A logger writing to memory, and the lines it wrote, parsed. */
function capture(level: 'info' | 'warn' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
      done();
    },
  });
  return { logger: createServiceLogger(identity, level, sink), lines };
}

class FakeResponse extends EventEmitter {
  statusCode = 201;
}

describe('JsonLogger', () => {
  it('writes Nest log calls as JSON lines with the service, the context and the level', () => {
    const { logger, lines } = capture();
    new JsonLogger(logger).log('relay started', 'OutboxRelay');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, service: 'test-service', version: '1.2.3', context: 'OutboxRelay', msg: 'relay started' }),
    ]);
  });

  it('keeps the stack trace of an error apart from its context', () => {
    const { logger, lines } = capture();
    new JsonLogger(logger).error('write failed', 'Error: boom\n    at here', 'Payments');
    expect(lines[0]).toEqual(expect.objectContaining({ level: 50, context: 'Payments', stack: 'Error: boom\n    at here', msg: 'write failed' }));
  });

  it('redacts payment codes, credentials and API keys in logged objects', () => {
    const { logger, lines } = capture();
    new JsonLogger(logger).warn(
      {
        request: { paymentCode: '134567890123456789', supervisorCredential: 'S3cret', headers: { 'x-api-key': 'key-1' }, card: { cardNumber: '6222020000000000' }, supervisor: { operatorId: 'OP9', credential: '246810' } },
        apiKey: 'key-2',
      },
      'Voids',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['134567890123456789', 'S3cret', '246810', 'key-1', 'key-2', '6222020000000000']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('does nothing for levels below the configured one', () => {
    const { logger, lines } = capture('warn');
    const json = new JsonLogger(logger);
    json.log('not written');
    json.debug('not written');
    json.warn('written');
    expect(lines.map((l) => l['msg'])).toEqual(['written']);
  });
});

describe('accessLog', () => {
  it('logs method, path, status and duration of each answered request, nothing from headers or body', () => {
    const { logger, lines } = capture();
    const middleware = accessLog(logger);
    const response = new FakeResponse();
    let passedOn = false;
    middleware?.(
      { method: 'POST', originalUrl: '/v1/payments', headers: { 'x-api-key': 'key-1' }, body: { paymentCode: '134567890123456789' } } as never,
      response,
      () => (passedOn = true),
    );
    expect(passedOn).toBe(true);
    expect(lines).toHaveLength(0);
    response.emit('finish');
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request completed', req: { method: 'POST', path: '/v1/payments' }, res: { statusCode: 201 }, responseTime: expect.any(Number) }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/key-1|134567890123456789/);
  });

  it('logs the path without the query string, where a key put in the URL by mistake would be in clear', () => {
    const { logger, lines } = capture();
    const response = new FakeResponse();
    accessLog(logger)?.({ method: 'GET', originalUrl: '/v1/payments?businessDate=2026-11-27&apiKey=key-in-url&key-as-name' }, response, () => undefined);
    response.emit('finish');
    expect(lines).toEqual([expect.objectContaining({ req: { method: 'GET', path: '/v1/payments' } })]);
    expect(JSON.stringify(lines)).not.toMatch(/key-in-url|key-as-name|businessDate/);
  });

  it('does not log health probes', () => {
    const { logger, lines } = capture();
    const response = new FakeResponse();
    accessLog(logger)?.({ method: 'GET', originalUrl: '/health/ready' }, response, () => undefined);
    response.emit('finish');
    expect(lines).toHaveLength(0);
  });

  it('is not installed when the level is above info', () => {
    expect(accessLog(capture('warn').logger)).toBeUndefined();
  });
});

describe('trace context on log lines', () => {
  const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' };

  it('writes the trace and span of the work being done on every line, across awaits', async () => {
    const { logger, lines } = capture();
    const json = new JsonLogger(logger);
    await inTrace(trace, async () => {
      json.log('before', 'Payments');
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info({ paymentId: 'p-1' }, 'after');
    });
    json.log('outside');
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'before', traceId: trace.traceId, spanId: trace.spanId }),
      expect.objectContaining({ msg: 'after', paymentId: 'p-1', traceId: trace.traceId, spanId: trace.spanId }),
      expect.not.objectContaining({ traceId: expect.anything() }),
    ]);
  });

  it('lets a field of the line itself win over the trace fields, and keeps them apart between lines', () => {
    const { logger, lines } = capture();
    inTrace(trace, () => {
      logger.info({ traceId: 'given' }, 'one');
      logger.info('two');
    });
    expect(lines.map((l) => l['traceId'])).toEqual(['given', trace.traceId]);
  });

  it('runs a request in a new span of the trace its traceparent names', () => {
    let seen: ReturnType<typeof currentTrace>;
    traceRequests({ headers: { traceparent: `00-${trace.traceId}-${trace.spanId}-01` } }, undefined, () => (seen = currentTrace()));
    expect(seen).toEqual({ traceId: trace.traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: '01' });
    expect(seen?.spanId).not.toBe(trace.spanId);
  });

  it.each([
    ['no traceparent', {}],
    ['a malformed traceparent', { traceparent: '00-xyz-01' }],
    ['two traceparent headers', { traceparent: [`00-${trace.traceId}-${trace.spanId}-01`, `00-${trace.traceId}-${trace.spanId}-01`] }],
  ])('starts a new trace for a request with %s', (_case, headers) => {
    let seen: ReturnType<typeof currentTrace>;
    traceRequests({ headers }, undefined, () => (seen = currentTrace()));
    expect(seen?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen?.traceId).not.toBe(trace.traceId);
  });

  it('writes the access log line in the trace of its request', () => {
    const { logger, lines } = capture();
    const response = new FakeResponse();
    inTrace(trace, () => accessLog(logger)?.({ method: 'GET', originalUrl: '/v1/payments' }, response, () => undefined));
    response.emit('finish');
    expect(lines).toEqual([expect.objectContaining({ msg: 'request completed', traceId: trace.traceId })]);
  });
});
