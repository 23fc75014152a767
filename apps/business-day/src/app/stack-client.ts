import { DemoCredentials } from './demo-credentials';
import { HttpAnswer } from './observation';

/** Base URLs; with several instances of a service, requests go round-robin across them. */
export interface StackEndpoints {
  readonly paymentUrl: string | readonly string[];
  readonly voidUrl: string | readonly string[];
  readonly clearingUrl: string | readonly string[];
}

class RoundRobin {
  private next = 0;
  constructor(private readonly urls: () => readonly string[]) {}

  url(): string {
    const urls = this.urls();
    return urls[this.next++ % urls.length];
  }
}

const MAX_ATTEMPTS = 5;

/** How long a 503 asks the client to wait (its Retry-After seconds, at most 5 s); none without one. */
function retryAfterMs(header: string | null): number | undefined {
  const seconds = Number(header);
  return header && Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 5) * 1000 : undefined;
}

const listOf = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);

/** The services' public HTTP APIs, as any upstream system would call them. */
export class StackClient {
  private readonly payment: RoundRobin;
  private readonly voids: RoundRobin;
  private readonly clearing: RoundRobin;

  /** The endpoints are read on every request, so a test may swap a restarted instance's URL in. */
  constructor(
    endpoints: () => StackEndpoints,
    private readonly credentials: DemoCredentials,
  ) {
    this.payment = new RoundRobin(() => listOf(endpoints().paymentUrl));
    this.voids = new RoundRobin(() => listOf(endpoints().voidUrl));
    this.clearing = new RoundRobin(() => listOf(endpoints().clearingUrl));
  }

  private async call(url: string, init: RequestInit): Promise<HttpAnswer & { retryAfter: string | null }> {
    const sentAt = Date.now();
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    const answeredAt = Date.now();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text.slice(0, 500) };
    }
    return { status: response.status, body, sentAt, answeredAt, retryAfter: response.headers.get('retry-after') };
  }

  /**
   * POSTs are idempotent here (payments by merchant order number, voids by idempotency key), so a
   * request whose instance vanished, or that was answered 503 with a Retry-After (the database did
   * not answer in time), is sent again, as a real client would. The answer's `sentAt` is the first
   * attempt's: the request may have been decided then.
   */
  private async post(target: RoundRobin, path: string, merchantId: string | undefined, payload: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    let lastError: unknown;
    const sentAt = Date.now();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        const answer = await this.call(`${target.url()}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(merchantId ? { 'x-api-key': this.apiKeyOf(merchantId) } : {}), ...headers },
          body: JSON.stringify(payload),
        });
        const { retryAfter: header, ...plain } = answer;
        const retryAfter = plain.status === 503 ? retryAfterMs(header) : undefined;
        if (retryAfter === undefined || attempt === MAX_ATTEMPTS - 1) return { ...plain, sentAt };
        await new Promise((resolve) => setTimeout(resolve, retryAfter));
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
      }
    }
    throw lastError ?? new Error(`POST ${path}: no answer after ${MAX_ATTEMPTS} attempts`);
  }

  private apiKeyOf(merchantId: string): string {
    const key = this.credentials.apiKeys.get(merchantId);
    if (key === undefined) throw new Error(`no demo API key for ${merchantId}`);
    return key;
  }

  /** The credential of the merchant's demo supervisor (DEMO_SUPERVISOR), as its terminals' supervisor would type it. */
  supervisorCredentialOf(merchantId: string): string {
    const credential = this.credentials.supervisorCredentials.get(merchantId);
    if (credential === undefined) throw new Error(`no demo supervisor credential for ${merchantId}`);
    return credential;
  }

  submitPayment(merchantId: string, payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(this.payment, '/v1/payments', merchantId, payload);
  }

  requestVoid(merchantId: string, payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(this.voids, '/v1/voids', merchantId, payload, { 'idempotency-key': String(payload['idempotencyKey']) });
  }

  /** A supervisor authorisation for a card void sent over Kafka, which never carries the credential itself. */
  authoriseSupervisor(merchantId: string, payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(this.voids, '/v1/supervisor-authorisations', merchantId, payload);
  }

  /** As the terminal asks it: with its merchant's key. */
  settleTerminal(payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(this.clearing, '/v1/terminal-settlements', String(payload['merchantId']), payload);
  }

  /** The merchant's own batches, read with its key. */
  async batches(merchantId: string): Promise<Record<string, unknown>[]> {
    const answer = await this.call(`${this.clearing.url()}/v1/batches?merchantId=${encodeURIComponent(merchantId)}&limit=500`, {
      headers: { 'x-api-key': this.apiKeyOf(merchantId) },
    });
    if (answer.status !== 200) throw new Error(`listing batches of ${merchantId}: HTTP ${answer.status}`);
    return (answer.body['batches'] as Record<string, unknown>[]) ?? [];
  }
}
