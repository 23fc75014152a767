/** Machine-readable reasons, so a service can tell bad configuration from a bad request without parsing text. */
export type CalendarErrorCode =
  | 'INVALID_INSTANT'
  | 'OUT_OF_RANGE'
  | 'INVALID_BUSINESS_DATE'
  | 'INVALID_DAY_COUNT'
  | 'INVALID_TIME_OF_DAY'
  | 'INVALID_SCHEDULE'
  | 'UNKNOWN_SCHEDULE_KIND'
  | 'INVALID_SCHEDULE_PERIOD'
  | 'INVALID_SCHEDULE_VERSION'
  | 'SCHEDULE_VERSIONS_OUT_OF_ORDER'
  | 'SCHEDULE_VERSION_NOT_AT_CUTOFF'
  | 'INVALID_SETTLEMENT_OFFSET';

export class CalendarError extends Error {
  override readonly name = 'CalendarError';

  constructor(
    readonly code: CalendarErrorCode,
    message: string,
  ) {
    super(message);
  }
}
