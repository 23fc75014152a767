import { RequestedSettlement } from './expected-clearing';
import { ReconciliationFile } from './reconciliation-csv';

/** What the driver saw: its own requests' answers, every event on the topics, the batches and their files. */

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** When the driver sent the request and when the answer arrived (ms since the epoch, the driver's clock). */
  readonly sentAt: number;
  readonly answeredAt: number;
}

export interface ObservedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** `ce_id`, `ce_type` when present. */
  readonly id?: string;
  readonly type?: string;
  /** The parsed JSON value, or undefined when the value is not JSON (a malformed message). */
  readonly data?: Record<string, unknown>;
  readonly timestamp: number;
}

/** A batch as the clearing HTTP API (`GET /v1/batches`) showed it at the end of the run. */
export interface ObservedBatch {
  readonly batchId: string;
  readonly merchantId: string;
  readonly channel: string;
  readonly terminalId: string | null;
  readonly clearingDate: string;
  readonly state: string;
  readonly closeReason: string | null;
  readonly opensAt: string;
  readonly closesAt: string;
  readonly closedAt: string | null;
  readonly totals: { paymentCount: number; totalFen: number; voidedCount: number; voidedFen: number } | null;
}

export interface Observation {
  /** The cutoff period the day was run with (`every:<n>s` for every channel), in ms. */
  readonly cutoffPeriodMs: number;
  /** By outTradeNo: every answer to a payment request (duplicates included). */
  readonly payments: ReadonlyMap<string, readonly HttpAnswer[]>;
  /** By idempotency key: every answer to a void request (retries included). */
  readonly voids: ReadonlyMap<string, readonly HttpAnswer[]>;
  /** By idempotency key: when the driver produced a void command on Kafka. */
  readonly voidCommandsSentAt: ReadonlyMap<string, number>;
  readonly invalidRequests: readonly { variant: string; answer: HttpAnswer }[];
  readonly settlements: readonly (RequestedSettlement & { readonly answer: HttpAnswer })[];
  readonly events: readonly ObservedEvent[];
  readonly batches: readonly ObservedBatch[];
  /** The reconciliation files read from the clearing service's directory on disk. */
  readonly files: readonly ReconciliationFile[];
}
