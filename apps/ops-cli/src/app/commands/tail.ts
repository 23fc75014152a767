import { ReadRange } from '@pos/messaging';
import { CliError, ExitCode, usageError } from '../exit-codes';
import { OpsContext, parseOffset, parsePartition, partitionOf, requireTopic } from '../context';
import { FilterArguments, recordFilterOf } from '../filters';
import { MessageRecord, matches, toRecord } from '../records';

/** `--since` both selects and says where each partition starts reading. */
export interface TailOptions extends FilterArguments {
  readonly partition?: string;
  readonly offset?: string;
  readonly fromBeginning?: boolean;
  /** Without another position: the last N messages of each partition (default 10). */
  readonly last?: string;
  readonly follow?: boolean;
  /** Stop after this many matching messages. */
  readonly limit?: string;
}

const DEFAULT_LAST = 10n;

/** Works out where each partition starts (at `since`, epoch ms, when given) and, unless following, ends. */
async function tailRanges(ctx: OpsContext, topic: string, options: TailOptions, at: number | undefined): Promise<ReadRange[]> {
  const positions = [options.offset !== undefined, options.since !== undefined, !!options.fromBeginning, options.last !== undefined];
  if (positions.filter(Boolean).length > 1) throw usageError('use only one of --offset, --since, --from-beginning, --last');
  if (options.follow && options.until !== undefined) throw usageError('--until ends a bounded read; it cannot be combined with --follow');
  const offsets = await requireTopic(ctx, topic);
  const partitions =
    options.partition !== undefined ? [partitionOf(offsets, parsePartition(options.partition))] : offsets.partitions;
  const byTime = at === undefined ? undefined : new Map((await ctx.broker.offsetsAtTime(topic, at)).map((p) => [p.partition, p.offset]));
  const last = options.last !== undefined ? parseOffset(options.last, '--last') : DEFAULT_LAST;

  return partitions.map((p) => {
    const low = BigInt(p.low);
    const high = BigInt(p.high);
    let from: bigint;
    if (options.offset !== undefined) {
      from = parseOffset(options.offset);
      if (from < low || from > high) {
        throw new CliError(
          ExitCode.offsetOutOfRange,
          `offset ${from} is outside partition ${p.partition} of ${topic}, which holds offsets ${low}..${high - 1n} (end ${high})`,
          options.partition === undefined ? 'add --partition to pick one partition' : undefined,
        );
      }
    } else if (byTime) {
      from = BigInt(byTime.get(p.partition) ?? p.high);
    } else if (options.fromBeginning) {
      from = low;
    } else if (options.follow && options.last === undefined) {
      from = high;
    } else {
      from = high - last > low ? high - last : low;
    }
    return { topic, partition: p.partition, from: from.toString(), ...(options.follow ? {} : { until: p.high }) };
  });
}

/**
 * Reads a topic: a bounded read hands the matches over in time order once it has them all; a
 * follower hands each over as it arrives until `signal` aborts or `--limit` is reached.
 */
export async function tailCommand(
  ctx: OpsContext,
  topic: string,
  options: TailOptions,
  emit: (record: MessageRecord) => void,
  signal?: AbortSignal,
): Promise<number> {
  const filter = recordFilterOf(options, ctx.now());
  const ranges = await tailRanges(ctx, topic, options, filter.since);
  const limit = options.limit !== undefined ? Number(parseOffset(options.limit, '--limit')) : Infinity;
  const stop = new AbortController();
  signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const found: MessageRecord[] = [];
  await ctx.broker.readMessages(
    ranges,
    async (message) => {
      if (found.length >= limit) return;
      const record = toRecord(message, ctx.validator);
      if (!matches(record, filter)) return;
      found.push(record);
      if (options.follow) emit(record);
      if (found.length >= limit) stop.abort();
    },
    { signal: stop.signal },
  );
  if (!options.follow) {
    found.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    found.forEach(emit);
  }
  return found.length;
}
