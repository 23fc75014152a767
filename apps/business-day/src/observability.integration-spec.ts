import { randomUUID } from 'node:crypto';
import { AddressInfo, createServer } from 'node:net';
import { ServiceName } from '@pos/service-testing';
import { alertQueries, dashboardQueries, exposedNames, metricNamesIn, readAlertRules, readDashboard } from './testing/dashboard-queries';
import { SystemUnderTest } from './testing/system-harness';

const SERVICES: readonly ServiceName[] = ['payment-service', 'clearing-service', 'void-service'];

/** The families every service has, by the shared library's conventions. */
const COMMON_FAMILIES = [
  'pos_http_request_duration_seconds',
  'pos_kafka_consumer_lag',
  'pos_dlq_messages_total',
  'pos_handler_failures_total',
  'pos_outbox_backlog',
  'pos_outbox_oldest_age_seconds',
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The dashboard and the alert rules in tools/observability against what the services really
 * expose: each service runs from its production bundle with an admin listener, and is scraped
 * there as the compose profile's Prometheus scrapes it. A renamed or removed metric fails here.
 */
describe('the Grafana dashboard and the alert rules name metrics the services expose', () => {
  const system = new SystemUnderTest('every:1h', ['M001']);
  const admin = new Map<ServiceName, string>();
  const scraped = new Map<ServiceName, string>();

  beforeAll(async () => {
    for (const name of SERVICES) {
      const port = await freePort();
      await system.start(name, { ADMIN_PORT: String(port), ADMIN_HOST: '127.0.0.1' });
      admin.set(name, `http://127.0.0.1:${port}`);
    }
    // One request the payment API refuses (no API key): its route is matched, so it is labelled by its template.
    const refused = await fetch(`${system.urls('payment-service')[0]}/v1/payments/${randomUUID()}`);
    expect(refused.status).toBe(401);
    for (const name of SERVICES) {
      const response = await fetch(`${admin.get(name)}/metrics`);
      expect(response.status).toBe(200);
      scraped.set(name, await response.text());
    }
  }, 180_000);

  afterAll(() => system.stop(), 60_000);

  it('serves /metrics on the admin port only, on every service', async () => {
    for (const name of SERVICES) {
      const publicPort = await fetch(`${system.urls(name)[0]}/metrics`);
      expect({ name, status: publicPort.status }).toEqual({ name, status: 404 });
    }
  });

  it('exposes the common families on every service, and consumer lag for each of its groups', () => {
    for (const name of SERVICES) {
      const text = scraped.get(name) ?? '';
      const names = exposedNames(text);
      expect({ name, missing: COMMON_FAMILIES.filter((family) => !names.has(family)) }).toEqual({ name, missing: [] });
      // Each service consumes: its groups' partitions are reported (every topic was created with 3 partitions).
      const lagSeries = text.split('\n').filter((line) => line.startsWith('pos_kafka_consumer_lag{'));
      expect({ name, partitions: lagSeries.length % 3, some: lagSeries.length > 0 }).toEqual({ name, partitions: 0, some: true });
      expect(text).toMatch(/^pos_outbox_backlog \d+$/m);
    }
  });

  it('labels HTTP durations by route template, not by the raw path', () => {
    const text = scraped.get('payment-service') ?? '';
    expect(text).toMatch(/^pos_http_request_duration_seconds_count\{method="GET",route="\/v1\/payments\/:paymentId",status="401"\} 1$/m);
    expect(text).not.toMatch(/route="\/v1\/payments\/[0-9a-f-]{36}"/);
  });

  it("names in every query of the dashboard and the alert rules only metrics that some service exposes", () => {
    const exposed = new Set(SERVICES.flatMap((name) => [...exposedNames(scraped.get(name) ?? '')]));
    const queries = [...dashboardQueries(readDashboard()), ...alertQueries(readAlertRules())];
    expect(queries.length).toBeGreaterThan(25);
    const unknown = queries.flatMap(({ panel, expr }) => metricNamesIn(expr).filter((metric) => !exposed.has(metric)).map((metric) => `${panel}: ${metric}`));
    expect(unknown).toEqual([]);
    // And every service-specific family the dashboard relies on is there (one per service at least).
    for (const family of ['pos_payments_total', 'pos_clearing_batches', 'pos_void_decisions_total', 'pos_void_supervisor_lockouts_total']) {
      expect(exposed).toContain(family);
    }
  });
});
