import { ScheduleVersion } from './expected-clearing';

/**
 * What the day asks of whoever runs the stack, for the operator's scenarios (DayOptions.operator):
 * the operator's own procedures of docs/operations.md, and the faults that make them necessary.
 * The system test provides it for the services it started; `npm start` runs the day without.
 */
export interface DayOperator {
  /**
   * "Changing a cutoff": appends the version to `CUTOFF_SCHEDULE_*` of every clearing instance,
   * keeping the earlier ones, and restarts them one by one (a new instance first, then the old stopped).
   */
  publishScheduleVersion(version: ScheduleVersion): Promise<void>;
  /** Holds every clearing instance still (a stalled host): events wait for it on Kafka. */
  holdClearing(): Promise<void>;
  releaseClearing(): Promise<void>;
  /** Makes clearing's write of an accepted void of this payment fail, so it is parked after its attempts. */
  refuseVoidWrites(paymentId: string): Promise<void>;
  allowVoidWrites(): Promise<void>;
  /** "Dead letters: inspect and replay": the operator CLI's `dlq replay <topic> <partition:offset>`; returns its output. */
  replayDeadLetter(topic: string, position: string): Promise<string>;
}
