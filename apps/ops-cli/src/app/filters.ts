import { Command } from 'commander';
import { parseTime } from './context';
import { usageError } from './exit-codes';
import { RecordFilter } from './records';

/**
 * The message filters as typed on the command line. `tail`, `dlq list` and `dlq replay --all`
 * take the same ones (see `withRecordFilters`), so a selection means the same thing everywhere.
 */
export interface FilterArguments {
  readonly merchant?: string;
  readonly payment?: string;
  readonly batch?: string;
  /** CloudEvents types, comma-separated. */
  readonly type?: string;
  /** RFC 3339 or back from now (`15m`); compared with the time Kafka stored the message. */
  readonly since?: string;
  readonly until?: string;
}

const FILTER_FLAGS: Readonly<Record<keyof FilterArguments, string>> = {
  merchant: '--merchant',
  payment: '--payment',
  batch: '--batch',
  type: '--type',
  since: '--since',
  until: '--until',
};

/** Adds the shared filter options to a command. */
export function withRecordFilters(command: Command): Command {
  return command
    .option('-s, --since <time>', 'only messages written at or after this time: RFC 3339 (2026-11-27T22:59:00+08:00) or back from now (15m, 2h, 3d)')
    .option('--until <time>', 'only messages written before this time (same forms as --since)')
    .option('--merchant <id>', 'only messages of this merchant (merchantId or key)')
    .option('--payment <id>', 'only messages about this payment (paymentId or subject)')
    .option('--batch <id>', 'only messages about this settlement batch')
    .option('--type <types>', 'only these CloudEvents types, comma-separated');
}

/** The flags of the filters that are set, e.g. `['--merchant', '--since']`. */
export function filtersGiven(args: FilterArguments): string[] {
  return (Object.keys(FILTER_FLAGS) as (keyof FilterArguments)[]).filter((k) => args[k] !== undefined).map((k) => FILTER_FLAGS[k]);
}

export function recordFilterOf(args: FilterArguments, now: Date): RecordFilter {
  const since = args.since !== undefined ? parseTime(args.since, now) : undefined;
  const until = args.until !== undefined ? parseTime(args.until, now) : undefined;
  if (since !== undefined && until !== undefined && until <= since) {
    throw usageError(`--until ${args.until} is not after --since ${args.since}: nothing can match`);
  }
  const types = args.type
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (types !== undefined && types.length === 0) throw usageError(`--type "${args.type}" names no CloudEvents type`);
  return {
    ...(args.merchant !== undefined ? { merchant: args.merchant } : {}),
    ...(args.payment !== undefined ? { payment: args.payment } : {}),
    ...(args.batch !== undefined ? { batch: args.batch } : {}),
    ...(types !== undefined ? { types } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}
