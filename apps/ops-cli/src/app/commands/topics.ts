import { allTopics, ConsumedTopics, deadLetterTopicOf, MessageContracts } from '@pos/contracts';
import { OpsContext, messageCount } from '../context';

export interface TopicReport {
  readonly topic: string;
  /** What the contracts say the topic is; `unknown` for a topic no contract names. */
  readonly kind: 'commands' | 'events' | 'dead-letter' | 'unknown';
  readonly partitions: readonly { partition: number; low: string; high: string; messages: string }[];
  /** Sum of the partitions' end offsets: how many messages were ever written. */
  readonly endOffset: string;
  /** Messages still stored (end minus start offsets, summed). */
  readonly messages: string;
}

export interface TopicsReport {
  readonly topics: readonly TopicReport[];
  /** Topics the contracts define that the cluster does not have (yet): nothing has created them. */
  readonly missing: readonly string[];
}

function kindOf(topic: string): TopicReport['kind'] {
  if (ConsumedTopics.some((t) => deadLetterTopicOf(t) === topic)) return 'dead-letter';
  const contract = MessageContracts.find((c) => c.topic === topic);
  if (!contract) return 'unknown';
  return contract.kind === 'command' ? 'commands' : 'events';
}

export async function topicsCommand(ctx: OpsContext): Promise<TopicsReport> {
  const names = await ctx.broker.listTopics();
  const offsets = names.length === 0 ? [] : await ctx.broker.topicOffsets(names);
  const topics = offsets.map((t) => {
    const partitions = t.partitions.map((p) => ({ ...p, messages: messageCount(p).toString() }));
    return {
      topic: t.topic,
      kind: kindOf(t.topic),
      partitions,
      endOffset: t.partitions.reduce((sum, p) => sum + BigInt(p.high), 0n).toString(),
      messages: partitions.reduce((sum, p) => sum + BigInt(p.messages), 0n).toString(),
    };
  });
  topics.sort((a, b) => a.topic.localeCompare(b.topic));
  const missing = allTopics().filter((t) => !names.includes(t));
  return { topics, missing };
}

export function renderTopics(report: TopicsReport): string {
  const rows = [['TOPIC', 'KIND', 'PARTITIONS', 'END OFFSETS', 'MESSAGES']];
  for (const t of report.topics) {
    rows.push([t.topic, t.kind, String(t.partitions.length), t.partitions.map((p) => `${p.partition}:${p.high}`).join(' '), t.messages]);
  }
  const lines = table(rows);
  if (report.missing.length > 0) lines.push('', `missing (defined by the contracts, not created yet): ${report.missing.join(', ')}`);
  return lines.join('\n');
}

export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}
