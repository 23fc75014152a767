/**
 * Exit codes scripts can rely on. Documented in docs/ops-cli.md; never renumber one.
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
  /** The clearing or void API refused: no or an unknown operator token, a role that may not, or an approval that does not allow it (its code is printed). */
  refused: 7,
  /** The clearing API (--clearing-url) or the void API (--void-url) did not answer. */
  apiUnreachable: 8,
  /** Ctrl-C (SIGINT) ended a command before it was done: 128 + 2, as shells report it. A follower's normal end is `ok`. */
  interrupted: 130,
  /** SIGTERM ended a command before it was done: 128 + 15. */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of a command a signal ended; the process aborts its `CliIo.signal` with the signal's name. */
export const exitCodeOnSignal = (signal: unknown): ExitCode => (signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);

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
