import { notFound } from '../exit-codes';
import { OpsContext } from '../context';
import { table } from './topics';

export interface LagRow {
  readonly group: string;
  readonly state: string;
  readonly members: number;
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group reads; `-1` when it never committed there. */
  readonly committed: string;
  readonly end: string;
  /** Messages the group has still to process. */
  readonly lag: string;
}

export interface LagReport {
  readonly rows: readonly LagRow[];
  /** Groups that exist but have committed nothing yet. */
  readonly idle: readonly string[];
}

/** The CLI's own readers use throwaway groups; they are never a service's lag. */
const READER_GROUP = /^pos-reader-/;

export async function lagCommand(ctx: OpsContext, options: { group?: string } = {}): Promise<LagReport> {
  const groups = (await ctx.broker.listConsumerGroups()).filter((g) => !READER_GROUP.test(g.groupId));
  const selected = options.group !== undefined ? groups.filter((g) => g.groupId === options.group) : groups;
  if (options.group !== undefined && selected.length === 0) {
    throw notFound(`consumer group ${options.group} does not exist`, `groups: ${groups.map((g) => g.groupId).join(', ') || '(none)'}`);
  }
  const rows: LagRow[] = [];
  const idle: string[] = [];
  for (const group of selected) {
    const committed = await ctx.broker.committedOffsets(group.groupId);
    if (committed.length === 0) {
      idle.push(group.groupId);
      continue;
    }
    const topics = [...new Set(committed.map((c) => c.topic))];
    const existing = new Set(await ctx.broker.listTopics());
    const ends = await ctx.broker.topicOffsets(topics.filter((t) => existing.has(t)));
    for (const c of committed) {
      const p = ends.find((t) => t.topic === c.topic)?.partitions.find((x) => x.partition === c.partition);
      if (!p) continue;
      const start = c.offset === '-1' ? BigInt(p.low) : BigInt(c.offset);
      const lag = BigInt(p.high) - start;
      rows.push({
        group: group.groupId,
        state: group.state,
        members: group.members,
        topic: c.topic,
        partition: c.partition,
        committed: c.offset,
        end: p.high,
        lag: (lag < 0n ? 0n : lag).toString(),
      });
    }
  }
  rows.sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { rows, idle };
}

export function renderLag(report: LagReport): string {
  const lines = table([
    ['GROUP', 'STATE', 'MEMBERS', 'TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'],
    ...report.rows.map((r) => [r.group, r.state, String(r.members), r.topic, String(r.partition), r.committed, r.end, r.lag]),
  ]);
  if (report.rows.length > 0) {
    const totals = new Map<string, bigint>();
    for (const r of report.rows) totals.set(r.group, (totals.get(r.group) ?? 0n) + BigInt(r.lag));
    lines.push('', ...[...totals].map(([g, total]) => `${g}: total lag ${total}`));
  }
  if (report.idle.length > 0) lines.push('', `groups with no committed offsets: ${report.idle.join(', ')}`);
  return lines.join('\n');
}
