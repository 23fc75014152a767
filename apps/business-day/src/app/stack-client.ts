import { HttpAnswer } from './observation';

export interface StackEndpoints {
  readonly paymentUrl: string;
  readonly voidUrl: string;
  readonly clearingUrl: string;
}

/** Demo credentials: `demo-key-<merchant>` and supervisor `SUP` / `demo-supervisor-<merchant>` (tools/run.sh configures their hashes). */
export const demoApiKey = (merchantId: string) => `demo-key-${merchantId}`;
export const DEMO_SUPERVISOR = 'SUP';
export const demoSupervisorCredential = (merchantId: string) => `demo-supervisor-${merchantId}`;

/** The services' public HTTP APIs, as any upstream system would call them. */
export class StackClient {
  constructor(private readonly endpoints: StackEndpoints) {}

  private async call(url: string, init: RequestInit): Promise<HttpAnswer> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text.slice(0, 500) };
    }
    return { status: response.status, body };
  }

  private post(url: string, merchantId: string, payload: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.call(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': demoApiKey(merchantId), ...headers },
      body: JSON.stringify(payload),
    });
  }

  submitPayment(merchantId: string, payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(`${this.endpoints.paymentUrl}/v1/payments`, merchantId, payload);
  }

  requestVoid(merchantId: string, payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.post(`${this.endpoints.voidUrl}/v1/voids`, merchantId, payload, {
      'idempotency-key': String(payload['idempotencyKey']),
    });
  }

  settleTerminal(payload: Record<string, unknown>): Promise<HttpAnswer> {
    return this.call(`${this.endpoints.clearingUrl}/v1/terminal-settlements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  }

  async batches(merchantId: string): Promise<Record<string, unknown>[]> {
    const answer = await this.call(`${this.endpoints.clearingUrl}/v1/batches?merchantId=${encodeURIComponent(merchantId)}&limit=500`, {});
    if (answer.status !== 200) throw new Error(`listing batches of ${merchantId}: HTTP ${answer.status}`);
    return (answer.body['batches'] as Record<string, unknown>[]) ?? [];
  }

  async reconciliationFile(batchId: string): Promise<string> {
    const response = await fetch(`${this.endpoints.clearingUrl}/v1/batches/${encodeURIComponent(batchId)}/reconciliation`, {
      signal: AbortSignal.timeout(30_000),
    });
    if (response.status !== 200) throw new Error(`reconciliation file of ${batchId}: HTTP ${response.status}`);
    return response.text();
  }
}
