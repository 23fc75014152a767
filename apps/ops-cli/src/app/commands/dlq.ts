import { ConsumedTopics, deadLetterTopicOf, DeadLetterReplayParams, FOUR_EYES_REPLAY_TYPES } from '@pos/contracts';
import { DeadLetterHeaders, OutboundMessage, ReplayHeaders, replayMarkerOf } from '@pos/messaging';
import { OperatorApi } from '../operator-api';
import { CliError, ExitCode, notFound, usageError } from '../exit-codes';
import { OpsContext, parsePosition, partitionOf, requireTopic } from '../context';
import { FilterArguments, filtersGiven, recordFilterOf } from '../filters';
import { isDeadLetterTopic, matches, MessageRecord, position, renderRecord, sourceTopicOf, toRecord } from '../records';

export interface DeadLetterEntry {
  readonly record: MessageRecord;
  /** Position of the copy on the source topic, when this message was replayed already. */
  readonly replayedAs?: string;
}

/** `payments.commands.v1` and `payments.commands.v1.dlq` both name the dead-letter topic. */
export function deadLetterTopicNamed(name: string): string {
  return isDeadLetterTopic(name) ? name : `${name}.dlq`;
}

/** A record for display, and the exact bytes it had: a replay writes those back, unmasked. */
interface Parked {
  readonly record: MessageRecord;
  readonly value: Buffer | null;
}

async function readWhole(ctx: OpsContext, topic: string, fromMs?: number): Promise<Parked[]> {
  const offsets = await requireTopic(ctx, topic);
  const starts = fromMs === undefined ? undefined : new Map((await ctx.broker.offsetsAtTime(topic, fromMs)).map((p) => [p.partition, p.offset]));
  const parked: Parked[] = [];
  await ctx.broker.readMessages(
    offsets.partitions.map((p) => ({ topic, partition: p.partition, from: starts?.get(p.partition) ?? p.low, until: p.high })),
    async (message) => {
      parked.push({ record: toRecord(message, ctx.validator), value: message.value });
    },
  );
  return parked.sort((a, b) => a.record.partition - b.record.partition || Number(BigInt(a.record.offset) - BigInt(b.record.offset)));
}

/** Replay copies carry their own clock's time; look this far before the oldest dead letter for them. */
const CLOCK_SKEW_MARGIN_MS = 60 * 60 * 1000;

/**
 * The replay log is the source topic itself: every copy `dlq replay` writes carries
 * `dlq_replay_of = <dlq>/<partition>/<offset>`. Copies are written after the dead letter they
 * replay, so scanning the source topic from the oldest dead letter's time finds all of them.
 */
async function replayedPositions(ctx: OpsContext, sourceTopic: string, since: number): Promise<Map<string, string>> {
  const existing = await ctx.broker.listTopics();
  if (!existing.includes(sourceTopic)) return new Map();
  const copies = await readWhole(ctx, sourceTopic, since - CLOCK_SKEW_MARGIN_MS);
  return new Map(copies.filter(({ record }) => record.replayOf).map(({ record }) => [record.replayOf as string, position(record)]));
}

/** The dead letters of one topic, from `fromMs` (when they were parked) if given, each with where it was replayed to. */
async function parkedIn(ctx: OpsContext, deadLetterTopic: string, fromMs?: number): Promise<(DeadLetterEntry & { value: Buffer | null })[]> {
  const parked = await readWhole(ctx, deadLetterTopic, fromMs);
  if (parked.length === 0) return [];
  const oldest = Math.min(...parked.map(({ record }) => Date.parse(record.timestamp)));
  const sources = [...new Set(parked.map(({ record }) => record.deadLetter?.sourceTopic ?? sourceTopicOf(record.topic)))];
  const replayed = new Map<string, string>();
  for (const source of sources) for (const [k, v] of await replayedPositions(ctx, source, oldest)) replayed.set(k, v);
  return parked.map(({ record, value }) => {
    const replayedAs = replayed.get(replayMarkerOf(record.topic, record.partition, record.offset));
    return replayedAs ? { record, value, replayedAs } : { record, value };
  });
}

const entryOf = ({ record, replayedAs }: DeadLetterEntry): DeadLetterEntry => (replayedAs ? { record, replayedAs } : { record });

/** Which dead letters `dlq list` and `dlq replay --all` take: the filters `tail` has, and the reason they were parked for. */
export interface DeadLetterSelection extends FilterArguments {
  readonly reason?: string;
}

export async function dlqListCommand(ctx: OpsContext, options: { topic?: string } & DeadLetterSelection = {}): Promise<DeadLetterEntry[]> {
  let topics: string[];
  if (options.topic !== undefined) {
    topics = [deadLetterTopicNamed(options.topic)];
  } else {
    const existing = new Set(await ctx.broker.listTopics());
    topics = ConsumedTopics.map(deadLetterTopicOf).filter((t) => existing.has(t));
  }
  return (await selectParked(ctx, topics, options)).map(entryOf);
}

async function selectParked(ctx: OpsContext, topics: readonly string[], selection: DeadLetterSelection) {
  const filter = recordFilterOf(selection, ctx.now());
  const entries: (DeadLetterEntry & { value: Buffer | null })[] = [];
  for (const topic of topics) entries.push(...(await parkedIn(ctx, topic, filter.since)));
  return entries.filter(
    (e) => (selection.reason === undefined || e.record.deadLetter?.reason === selection.reason) && matches(e.record, filter),
  );
}

async function findParked(ctx: OpsContext, topic: string, at: string) {
  const deadLetterTopic = deadLetterTopicNamed(topic);
  const { partition, offset } = parsePosition(at);
  partitionOf(await requireTopic(ctx, deadLetterTopic), partition);
  const entry = (await parkedIn(ctx, deadLetterTopic)).find((e) => e.record.partition === partition && e.record.offset === offset);
  if (!entry) throw notFound(`no dead-lettered message at ${deadLetterTopic}/${partition}/${offset}`, 'list them with `dlq list`');
  return entry;
}

export async function dlqShowCommand(ctx: OpsContext, topic: string, at: string): Promise<DeadLetterEntry> {
  return entryOf(await findParked(ctx, topic, at));
}

/** The selection applies to `all` only. */
export interface ReplayOptions extends DeadLetterSelection {
  /** `<partition>:<offset>` of one message; or `all`. */
  readonly position?: string;
  readonly all?: boolean;
  readonly dryRun?: boolean;
  /** The approved request (four eyes) that allows replaying one dead letter of a money event. */
  readonly approval?: string;
}

export interface ReplayReport {
  readonly replayed: readonly { from: string; to: string }[];
  readonly skipped: readonly { from: string; replayedAs: string }[];
  /** Cut copies of messages too large to park whole: their value is not the original's, so never written back. */
  readonly refused: readonly { from: string; original: string }[];
  /** Money events (FOUR_EYES_REPLAY_TYPES) that `--all` leaves alone: each needs its own approved request. */
  readonly needsApproval: readonly { from: string; type: string }[];
  readonly dryRun: boolean;
}

const movesMoney = (e: DeadLetterEntry) => (FOUR_EYES_REPLAY_TYPES as readonly string[]).includes(e.record.event?.type ?? '');

/** What an approval request names: the dead letter by its (logical) dead-letter topic and position, and its event type. */
export function replayParamsOf(record: MessageRecord): DeadLetterReplayParams {
  return { topic: record.topic, partition: record.partition, offset: record.offset, type: record.event?.type ?? '' };
}

const dropped = new Set<string>([...Object.values(DeadLetterHeaders), ...Object.values(ReplayHeaders)]);
const REPLAY_CHUNK = 100;

/**
 * Writes dead-lettered messages back to their source topic after a fix: same key, value and
 * CloudEvents headers (the original `ce_id`, so a consumer's inbox drops an event it applied
 * already), the dead-letter headers removed, `dlq_replay_of` added. Messages whose marker is
 * already on the source topic are skipped: replaying twice writes nothing the second time.
 */
export async function dlqReplayCommand(ctx: OpsContext, topic: string, options: ReplayOptions, api?: OperatorApi): Promise<ReplayReport> {
  if (!!options.position === !!options.all) throw usageError('give either a <partition>:<offset> or --all');
  if (options.approval !== undefined && !options.position) throw usageError('--approval goes with one <partition>:<offset>: an approval names one dead letter');
  const selecting = [...(options.reason !== undefined ? ['--reason'] : []), ...filtersGiven(options)];
  if (options.position && selecting.length > 0) {
    throw usageError(`${selecting.join(', ')} select dead letters only with --all`, '<partition>:<offset> names one message already');
  }
  const deadLetterTopic = deadLetterTopicNamed(topic);
  const entries = options.position
    ? [await findParked(ctx, deadLetterTopic, options.position)]
    : await selectParked(ctx, [deadLetterTopic], options);
  const skipped = entries.filter((e) => e.replayedAs).map((e) => ({ from: position(e.record), replayedAs: e.replayedAs as string }));
  const cut = (e: DeadLetterEntry) => e.record.headers[DeadLetterHeaders.truncatedFrom] !== undefined;
  const refused = entries.filter((e) => !e.replayedAs && cut(e)).map((e) => ({ from: position(e.record), original: originalOf(e.record) }));
  if (options.position && refused.length > 0) {
    throw usageError(
      `${refused[0].from} is a cut copy of a message too large to park whole: replaying it would write a value that is not the original's`,
      `re-send the original from ${refused[0].original} once its consumer can take it`,
    );
  }
  const pending = entries.filter((e) => !e.replayedAs && !cut(e));
  const needsApproval = options.approval === undefined ? pending.filter(movesMoney) : [];
  if (options.position && needsApproval.length > 0) {
    throw new CliError(
      ExitCode.refused,
      `${position(needsApproval[0].record)} is a ${needsApproval[0].record.event?.type} event: replaying it moves money and needs a second operator's approval`,
      `request it with \`approvals request-replay ${deadLetterTopic} ${options.position} --reason <why>\`, have an approver approve it, then add --approval <id>`,
    );
  }
  if (options.approval !== undefined && !pending.every(movesMoney)) throw usageError(`${options.position} needs no approval: replay it without --approval`);
  const todo = pending.filter((e) => !needsApproval.includes(e));
  const waiting = needsApproval.map((e) => ({ from: position(e.record), type: e.record.event?.type ?? '' }));
  const existing = new Set(await ctx.broker.listTopics());
  const messages: OutboundMessage[] = todo.map(({ record, value }) => {
    const target = record.deadLetter?.sourceTopic ?? sourceTopicOf(record.topic);
    if (!existing.has(target)) throw notFound(`source topic ${target} of ${position(record)} does not exist`);
    const headers = Object.fromEntries(Object.entries(record.headers).filter(([name]) => !dropped.has(name)));
    return {
      topic: target,
      key: record.key,
      value,
      headers: {
        ...headers,
        [ReplayHeaders.replayOf]: replayMarkerOf(record.topic, record.partition, record.offset),
        [ReplayHeaders.replayedAt]: ctx.now().toISOString(),
      },
    };
  });
  const replayed = todo.map((e, i) => ({ from: position(e.record), to: messages[i].topic }));
  if (options.dryRun || messages.length === 0) return { replayed, skipped, refused, needsApproval: waiting, dryRun: !!options.dryRun };
  if (options.approval !== undefined) {
    // The clearing API checks it is approved, unexpired, ours, and for exactly this dead letter; from then on it is executed.
    if (!api) throw usageError('--approval needs the clearing API (--clearing-url and an operator token)');
    await api.call('POST', `/v1/approvals/${encodeURIComponent(options.approval)}/claim`, { action: 'dlq-replay', params: replayParamsOf(todo[0].record) });
  }

  const producer = await ctx.broker.createProducer();
  let sent = 0;
  try {
    for (let i = 0; i < messages.length; i += REPLAY_CHUNK) {
      await producer.send(messages.slice(i, i + REPLAY_CHUNK));
      sent = Math.min(i + REPLAY_CHUNK, messages.length);
    }
  } catch (error) {
    if (sent === 0) throw error;
    throw new CliError(
      ExitCode.partialReplay,
      `replayed ${sent} of ${messages.length} messages, then: ${error instanceof Error ? error.message : String(error)}`,
      'run the same command again: messages already replayed are skipped',
    );
  } finally {
    await producer.disconnect();
  }
  return { replayed, skipped, refused, needsApproval: waiting, dryRun: false };
}

/** Where the original of a dead letter stands on its source topic. */
function originalOf(record: MessageRecord): string {
  const d = record.deadLetter;
  return d ? `${d.sourceTopic}/${d.sourcePartition}/${d.sourceOffset}` : '(unknown source)';
}

export function renderDeadLetters(entries: readonly DeadLetterEntry[]): string {
  if (entries.length === 0) return 'no dead-lettered messages';
  return entries
    .map((e) => {
      const d = e.record.deadLetter;
      const head = `${position(e.record)}  ${d?.reason ?? '?'}  ${e.record.event?.type ?? '(undecodable)'}  key=${e.record.key ?? '(none)'}  id=${e.record.event?.id ?? '-'}`;
      const status = e.replayedAs ? `  replayed as ${e.replayedAs}` : '  not replayed';
      return `${head}\n    ${d?.detail ?? ''}\n  ${status}`;
    })
    .join('\n');
}

export function renderDeadLetter(entry: DeadLetterEntry): string {
  return `${renderRecord(entry.record)}\n  ${entry.replayedAs ? `replayed as ${entry.replayedAs}` : 'not replayed yet'}`;
}
