import { PublishedSchedule, RequestedSettlement, ScheduleVersion } from './expected-clearing';
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
  /** The cutoff schedule versions the day ran with: the stack's, and those the driver published during the run. */
  readonly schedule: PublishedSchedule;
  /** What the operator did during the run, as the driver did it and saw it. */
  readonly operator: OperatorActions;
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

/** The operator's actions of the day (docs/operations.md), as the driver took them and what it saw meanwhile. */
export interface OperatorActions {
  /** Cutoff schedule versions published (a rolling restart of clearing with the version appended), when it began and was done. */
  readonly published: readonly { readonly version: ScheduleVersion; readonly startedAt: number; readonly doneAt: number }[];
  /** Spans [from, until) during which every clearing instance was held still, so events reached it only afterwards. */
  readonly heldBack: readonly { readonly from: number; readonly until: number }[];
  /** Accepted voids whose write clearing was made to refuse, parked in the dead-letter topic and replayed with the operator CLI. */
  readonly replays: readonly ParkedVoidReplay[];
}

export interface ParkedVoidReplay {
  readonly idempotencyKey: string;
  readonly paymentId?: string;
  /** The batch the accepted void names. */
  readonly batchId?: string;
  /** The dead letter's position on voids.events.v1.dlq (`<partition>:<offset>`). */
  readonly deadLetter?: string;
  /** When the driver saw the batch CLOSING in the clearing API, its gate closed and the void still parked. */
  readonly closingSeenAt?: number;
  readonly replayedAt?: number;
  /** What the operator CLI printed. */
  readonly cliOutput?: string;
  /** Why the scenario stopped short, when it did. */
  readonly problem?: string;
}
