import RequestQueue from 'kafkajs/src/network/requestQueue';

/**
 * kafkajs 2.2.4's request queue re-armed a check timer with a negative delay after every response
 * once no throttle was in force (`throttledUntil - Date.now()` with nothing pending): Node 24 warns
 * (TimeoutNegativeWarning) and turns it into a 1 ms timer that re-arms itself while the connection
 * lives. patches/kafkajs+2.2.4.patch (applied by `npm ci`'s postinstall) schedules a check only
 * while requests wait. These tests drive the queue itself, without a broker.
 */
describe('kafkajs request queue timer (patched)', () => {
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const queues: RequestQueue[] = [];
  const queue = () => {
    const q = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'localhost:9092', logger });
    queues.push(q);
    return q;
  };
  const push = (q: RequestQueue, correlationId: number, sent: number[]) =>
    new Promise((resolve, reject) =>
      q.push({ entry: { correlationId, apiName: 'Metadata', apiKey: 3, apiVersion: 6, resolve, reject }, expectResponse: true, sendRequest: () => sent.push(correlationId) }),
    );
  const respond = (q: RequestQueue, correlationId: number) => q.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  let warnings: Error[];
  let delays: number[];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings = [];
    delays = [];
    const realSetTimeout = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return realSetTimeout(callback, ms);
    }) as typeof setTimeout);
    process.on('warning', onWarning);
  });
  afterEach(() => {
    // Stops the queue's timers (the unpatched queue re-arms one forever).
    for (const q of queues.splice(0)) q.destroy();
    process.off('warning', onWarning);
    jest.restoreAllMocks();
  });

  it('arms no timer with a negative delay when a response comes in, and none stays armed while idle', async () => {
    const q = queue();
    const sent: number[] = [];
    const answered = push(q, 1, sent);
    respond(q, 1);
    await answered;
    await sleep(20);
    expect(sent).toEqual([1]);
    expect(delays.filter((ms) => !(ms >= 1))).toEqual([]);
    expect(warnings.map((w) => w.name)).not.toContain('TimeoutNegativeWarning');
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still sends a waiting request when the one in flight is answered', async () => {
    const q = queue();
    const sent: number[] = [];
    const first = push(q, 1, sent);
    const second = push(q, 2, sent);
    expect(sent).toEqual([1]);
    respond(q, 1);
    expect(sent).toEqual([1, 2]);
    respond(q, 2);
    await Promise.all([first, second]);
  });

  it('still sends a request held by client-side throttling once the throttle has passed', async () => {
    const q = queue();
    const sent: number[] = [];
    q.maybeThrottle(40);
    const held = push(q, 1, sent);
    expect(sent).toEqual([]);
    expect(delays.some((ms) => ms > 0 && ms <= 40)).toBe(true);
    await sleep(80);
    expect(sent).toEqual([1]);
    respond(q, 1);
    await held;
    await sleep(20);
    expect(delays.filter((ms) => !(ms >= 1))).toEqual([]);
    expect(warnings.map((w) => w.name)).not.toContain('TimeoutNegativeWarning');
  });
});
