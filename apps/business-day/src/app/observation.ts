/** What the driver saw: its own requests' answers, every event on the topics, and the batches. */

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
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
  /** From the batch's reconciliation CSV, when it is closed. */
  readonly reconciliation?: ReconciliationSummary;
}

export interface ReconciliationSummary {
  readonly path: string;
  readonly clearedRows: number;
  readonly clearedFen: number;
  readonly voidedRows: number;
  /** Totals as the file's own trailer states them. */
  readonly statedCount: number;
  readonly statedFen: number;
}

export interface Observation {
  /** By outTradeNo: every answer to a payment request (duplicates included). */
  readonly payments: ReadonlyMap<string, readonly HttpAnswer[]>;
  /** By idempotency key: every answer to a void request (retries included). */
  readonly voids: ReadonlyMap<string, readonly HttpAnswer[]>;
  readonly invalidRequests: readonly { variant: string; answer: HttpAnswer }[];
  readonly settlements: readonly HttpAnswer[];
  readonly events: readonly ObservedEvent[];
  readonly batches: readonly ObservedBatch[];
}
