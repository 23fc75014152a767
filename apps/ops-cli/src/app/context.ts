import { MessageBroker, MessageValidator, PartitionOffsets, TopicOffsets } from '@pos/messaging';
import { CliError, ExitCode, notFound, usageError } from './exit-codes';

/** What every command works with: the (namespaced) broker, the contracts' validator and the clock. */
export interface OpsContext {
  readonly broker: MessageBroker;
  readonly validator: MessageValidator;
  readonly now: () => Date;
}

export function opsContext(broker: MessageBroker, now: () => Date = () => new Date()): OpsContext {
  return { broker, validator: new MessageValidator(), now };
}

export async function requireTopic(ctx: OpsContext, topic: string): Promise<TopicOffsets> {
  const topics = await ctx.broker.listTopics();
  if (!topics.includes(topic)) {
    const near = topics.filter((t) => t.includes(topic) || topic.includes(t)).slice(0, 5);
    throw notFound(
      `topic ${topic} does not exist`,
      near.length > 0 ? `did you mean: ${near.join(', ')}?` : 'list the topics with `topics`; check --topic-prefix',
    );
  }
  const [offsets] = await ctx.broker.topicOffsets([topic]);
  return offsets;
}

export function parseOffset(text: string, what = 'offset'): bigint {
  if (!/^[0-9]{1,19}$/.test(text)) throw usageError(`${what} "${text}" is not a non-negative integer`);
  return BigInt(text);
}

export function parsePartition(text: string): number {
  if (!/^[0-9]{1,6}$/.test(text)) throw usageError(`partition "${text}" is not a non-negative integer`);
  return Number(text);
}

/** `<partition>:<offset>` or `<partition>/<offset>`, as printed by `dlq list`. */
export function parsePosition(text: string): { partition: number; offset: string } {
  const match = /^([0-9]{1,6})[:/]([0-9]{1,19})$/.exec(text);
  if (!match) throw usageError(`position "${text}" is not <partition>:<offset>`, 'e.g. 0:42, as printed by `dlq list`');
  return { partition: Number(match[1]), offset: match[2] };
}

const RELATIVE = /^([0-9]{1,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An RFC 3339 instant (`2026-11-27T22:59:00+08:00`) or a duration back from now (`15m`, `2h`, `3d`). */
export function parseTime(text: string, now: Date): number {
  const relative = RELATIVE.exec(text);
  if (relative) return now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw usageError(`time "${text}" is neither an RFC 3339 instant with an offset nor a duration like 15m, 2h, 3d`);
}

export function partitionOf(offsets: TopicOffsets, partition: number): PartitionOffsets {
  const found = offsets.partitions.find((p) => p.partition === partition);
  if (!found) {
    throw new CliError(
      ExitCode.offsetOutOfRange,
      `topic ${offsets.topic} has no partition ${partition}`,
      `it has partitions 0..${offsets.partitions.length - 1}`,
    );
  }
  return found;
}

export const messageCount = (p: PartitionOffsets) => BigInt(p.high) - BigInt(p.low);
