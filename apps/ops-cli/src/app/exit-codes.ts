/**
 * Exit codes scripts can rely on. Documented in docs/operations.md (Operator CLI); never renumber one.
 */
export const ExitCode = {
  ok: 0,
  /** Something unexpected: a bug or a broker error the CLI cannot classify. */
  failure: 1,
  /** Bad command line: unknown command or option, malformed offset, time or id. */
  usage: 2,
  /** The bootstrap servers did not answer (wrong address, down, TLS/SASL handshake refused). */
  brokerUnreachable: 3,
  /** The topic, consumer group, dead-lettered message, payment or batch does not exist. */
  notFound: 4,
  /** A well-formed offset outside the partition's range, or a partition the topic does not have. */
  offsetOutOfRange: 5,
  /** `dlq replay` wrote some messages but not all: re-run it; replaying is idempotent. */
  partialReplay: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is meant for the operator, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, hint?: string) => new CliError(ExitCode.usage, message, hint);
export const notFound = (message: string, hint?: string) => new CliError(ExitCode.notFound, message, hint);
