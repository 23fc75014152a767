import { OperatorApi } from '../operator-api';
import { usageError } from '../exit-codes';

/** A webhook delivery as the void service's API shows it. */
export interface DeliveryView {
  readonly deliveryId: string;
  readonly merchantId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly eventTime: string;
  readonly status: string;
  readonly attempts: number;
  readonly redrives: number;
  readonly nextAttemptAt?: string;
  readonly lastHttpStatus?: number;
  readonly lastError?: string;
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly log?: readonly {
    readonly attempt: number;
    readonly attemptedAt: string;
    readonly url: string;
    readonly httpStatus?: number;
    readonly error?: string;
    readonly durationMs: number;
    readonly outcome: string;
  }[];
}

export interface DeliveriesOptions {
  readonly merchant: string;
  readonly status?: string;
  readonly limit?: string;
}

const STATUSES = ['PENDING', 'DELIVERED', 'FAILED'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkedId(deliveryId: string): string {
  if (!UUID.test(deliveryId)) throw usageError(`"${deliveryId}" is not a delivery id (a UUID, as \`webhooks deliveries\` prints it)`);
  return deliveryId;
}

/** A merchant's webhook deliveries, newest first (viewer role and up). */
export async function deliveriesCommand(api: OperatorApi, options: DeliveriesOptions): Promise<DeliveryView[]> {
  if (options.status !== undefined && !STATUSES.includes(options.status)) throw usageError(`--status ${options.status} is not one of ${STATUSES.join(', ')}`);
  const query = new URLSearchParams({ merchantId: options.merchant, ...(options.status ? { status: options.status } : {}), ...(options.limit ? { limit: options.limit } : {}) });
  return (await api.call<{ items: DeliveryView[] }>('GET', `/v1/webhook/deliveries?${query}`)).items;
}

/** One delivery with its log of attempts. */
export const deliveryShowCommand = (api: OperatorApi, deliveryId: string) =>
  api.call<DeliveryView>('GET', `/v1/webhook/deliveries/${encodeURIComponent(checkedId(deliveryId))}`);

/** A FAILED delivery made PENDING again, for a new round of attempts (operator role; in the void service's audit trail). */
export const redriveCommand = (api: OperatorApi, deliveryId: string) =>
  api.call<DeliveryView>('POST', `/v1/webhook/deliveries/${encodeURIComponent(checkedId(deliveryId))}/redrive`);

export function renderDeliveries(deliveries: readonly DeliveryView[]): string {
  if (deliveries.length === 0) return 'no webhook deliveries';
  return deliveries
    .map((d) => {
      const last = d.lastHttpStatus !== undefined ? `HTTP ${d.lastHttpStatus}` : (d.lastError ?? '-');
      const next = d.nextAttemptAt ? `  next ${d.nextAttemptAt}` : '';
      return `${d.deliveryId}  ${d.status.padEnd(9)} ${d.merchantId}  ${d.eventType} ${d.eventId}  attempts ${d.attempts}, redrives ${d.redrives}, last ${last}${next}`;
    })
    .join('\n');
}

export function renderDelivery(delivery: DeliveryView): string {
  const attempts = (delivery.log ?? []).map(
    (a) => `    #${a.attempt} ${a.attemptedAt}  ${a.outcome.padEnd(9)} ${a.httpStatus !== undefined ? `HTTP ${a.httpStatus}` : a.error}  ${a.durationMs} ms  ${a.url}`,
  );
  return [renderDeliveries([delivery]), ...(attempts.length > 0 ? attempts : ['    no attempt yet'])].join('\n');
}
