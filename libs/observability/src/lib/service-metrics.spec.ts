import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceMetrics, UNMATCHED_ROUTE } from './service-metrics';

/** The value of one sample line of the text exposition, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ServiceMetrics', () => {
  it('gives each instance its own registry, with the default process and Node metrics', async () => {
    const one = new ServiceMetrics();
    const other = new ServiceMetrics();
    one.deadLettered('payments.events.v1.dlq', 'SCHEMA_VIOLATION');
    const text = await one.registry.metrics();
    expect(sample(text, 'pos_dlq_messages_total{topic="payments.events.v1.dlq",reason="SCHEMA_VIOLATION"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(await other.registry.metrics()).not.toMatch(/^pos_dlq_messages_total\{/m);
  });

  it('counts handler failures by group, type and outcome', async () => {
    const metrics = new ServiceMetrics();
    metrics.handlerFailed('void-service.payments', 'pos.payment.succeeded', 'retry');
    metrics.handlerFailed('void-service.payments', 'pos.payment.succeeded', 'retry');
    metrics.handlerFailed('void-service.payments', 'pos.payment.succeeded', 'dead_letter');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'pos_handler_failures_total{group="void-service.payments",type="pos.payment.succeeded",outcome="retry"}')).toBe(2);
    expect(sample(text, 'pos_handler_failures_total{group="void-service.payments",type="pos.payment.succeeded",outcome="dead_letter"}')).toBe(1);
  });

  describe('HTTP request durations', () => {
    let server: Server;
    let base: string;
    const metrics = new ServiceMetrics();

    beforeAll(async () => {
      const middleware = metrics.httpMiddleware();
      // What Express's router does for the middleware to see: a matched request carries its route.
      const route = (request: IncomingMessage, path: string) => Object.assign(request, { route: { path } });
      const answer = (response: ServerResponse, status: number) => {
        response.statusCode = status;
        response.setHeader('content-type', 'application/json');
        response.end('{}');
      };
      server = createServer((request, response) =>
        middleware(request, response, () => {
          if (request.method === 'GET' && /^\/v1\/payments\/[^/]+$/.test(request.url ?? '')) {
            route(request, '/v1/payments/:paymentId');
            setTimeout(() => answer(response, 200), 30);
          } else if (request.method === 'POST' && request.url === '/v1/payments') {
            route(request, '/v1/payments');
            answer(response, 201);
          } else {
            answer(response, 404);
          }
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("labels each request by its route's template and status, never by its raw path", async () => {
      await fetch(`${base}/v1/payments/3f0c`);
      await fetch(`${base}/v1/payments/77aa`);
      await fetch(`${base}/v1/payments`, { method: 'POST' });
      await fetch(`${base}/no/such/path/42`);
      const text = await metrics.registry.metrics();
      expect(sample(text, 'pos_http_request_duration_seconds_count{method="GET",route="/v1/payments/:paymentId",status="200"}')).toBe(2);
      expect(sample(text, 'pos_http_request_duration_seconds_count{method="POST",route="/v1/payments",status="201"}')).toBe(1);
      expect(sample(text, `pos_http_request_duration_seconds_count{method="GET",route="${UNMATCHED_ROUTE}",status="404"}`)).toBe(1);
      expect(text).not.toContain('3f0c');
      // The two GETs waited 30 ms each before answering: the histogram saw that time.
      expect(sample(text, 'pos_http_request_duration_seconds_sum{method="GET",route="/v1/payments/:paymentId",status="200"}')).toBeGreaterThanOrEqual(0.055);
      expect(sample(text, 'pos_http_request_duration_seconds_bucket{le="0.025",method="GET",route="/v1/payments/:paymentId",status="200"}')).toBe(0);
    });
  });

  describe('families read at scrape time', () => {
    it('shows the consumer lag of each partition as read at this scrape, and drops partitions no longer reported', async () => {
      const metrics = new ServiceMetrics();
      let samples = [
        { group: 'clearing-service.payments', topic: 'payments.events.v1', partition: 0, lag: 7 },
        { group: 'clearing-service.payments', topic: 'payments.events.v1', partition: 1, lag: 0 },
      ];
      metrics.consumerLagFrom(async () => samples);
      const first = await metrics.registry.metrics();
      expect(sample(first, 'pos_kafka_consumer_lag{group="clearing-service.payments",topic="payments.events.v1",partition="0"}')).toBe(7);
      expect(sample(first, 'pos_kafka_consumer_lag{group="clearing-service.payments",topic="payments.events.v1",partition="1"}')).toBe(0);
      samples = [{ group: 'clearing-service.payments', topic: 'payments.events.v1', partition: 1, lag: 3 }];
      const second = await metrics.registry.metrics();
      expect(sample(second, 'pos_kafka_consumer_lag{group="clearing-service.payments",topic="payments.events.v1",partition="0"}')).toBeUndefined();
      expect(sample(second, 'pos_kafka_consumer_lag{group="clearing-service.payments",topic="payments.events.v1",partition="1"}')).toBe(3);
    });

    it('reads the outbox once per scrape for its backlog and the age of its oldest row', async () => {
      const metrics = new ServiceMetrics();
      let reads = 0;
      metrics.outboxBacklogFrom(async () => {
        reads++;
        return { rows: 12, oldestAgeSeconds: 4.5 };
      });
      const text = await metrics.registry.metrics();
      expect(sample(text, 'pos_outbox_backlog')).toBe(12);
      expect(sample(text, 'pos_outbox_oldest_age_seconds')).toBe(4.5);
      expect(reads).toBe(1);
      await metrics.registry.metrics();
      expect(reads).toBe(2);
    });

    it('serves the rest of the scrape when a family cannot be read, and counts the failure', async () => {
      const metrics = new ServiceMetrics();
      metrics.consumerLagFrom(() => Promise.reject(new Error('broker unreachable')));
      metrics.outboxBacklogFrom(async () => ({ rows: 0, oldestAgeSeconds: 0 }));
      metrics.deadLettered('voids.commands.v1.dlq', 'MALFORMED_ENVELOPE');
      const text = await metrics.registry.metrics();
      expect(text).not.toMatch(/^pos_kafka_consumer_lag\{/m);
      // Counted while this scrape is being served: it shows from the next one.
      expect(sample(await metrics.registry.metrics(), 'pos_metrics_collect_failures_total{family="pos_kafka_consumer_lag"}')).toBe(1);
      expect(sample(text, 'pos_outbox_backlog')).toBe(0);
      expect(sample(text, 'pos_dlq_messages_total{topic="voids.commands.v1.dlq",reason="MALFORMED_ENVELOPE"}')).toBe(1);
    });
  });
});
