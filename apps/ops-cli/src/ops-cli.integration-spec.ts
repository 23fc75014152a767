import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { allTopics, Topics } from '@pos/contracts';
import { DeadLetterHeaders, encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, NamespacedBroker, ReplayHeaders } from '@pos/messaging';
import { testStack, uniqueName } from '@pos/testing';
import { dlqListCommand, dlqReplayCommand, dlqShowCommand } from './app/commands/dlq';
import { lagCommand } from './app/commands/lag';
import { tailCommand } from './app/commands/tail';
import { topicsCommand } from './app/commands/topics';
import { batchShowCommand, paymentTraceCommand } from './app/commands/trace';
import { OpsContext, opsContext } from './app/context';
import { CliError, ExitCode } from './app/exit-codes';
import { MessageRecord } from './app/records';
import { paymentStories } from './test/fixtures';

const root = join(__dirname, '..', '..', '..');

/** The CLI as a real process: its main through ts-node, as `npm run ops` runs the bundle. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(root, 'apps/ops-cli/src/main.ts'), ...args],
      { cwd: root, env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.integration.json'), ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function expectCliError(work: Promise<unknown>, exitCode: ExitCode, message: RegExp): Promise<void> {
  const error = await work.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).exitCode).toBe(exitCode);
  expect((error as CliError).message).toMatch(message);
}

describe('ops CLI against real Kafka', () => {
  const stack = testStack();
  let prefix: string;
  let broker: MessageBroker;
  let ctx: OpsContext;
  let stories: ReturnType<typeof paymentStories>;
  const brokers = () => stack.kafkaBrokers.join(',');

  beforeAll(async () => {
    prefix = `${uniqueName('ops')}.`;
    broker = new NamespacedBroker(new KafkajsBroker({ clientId: prefix, brokers: stack.kafkaBrokers }), prefix);
    await broker.ensureTopics(allTopics().map((name) => ({ name, partitions: 2 })));
    stories = paymentStories();
    const other = paymentStories('M200');
    const producer = await broker.createProducer();
    await producer.send([...stories.messages, ...other.messages]);
    await producer.disconnect();
    ctx = opsContext(broker);
  });

  afterAll(async () => {
    await broker.close();
  });

  describe('topics', () => {
    it('lists every topic under the prefix with partitions, end offsets and message counts', async () => {
      const report = await topicsCommand(ctx);
      expect(report.missing).toEqual([]);
      expect(report.topics.map((t) => t.topic).sort()).toEqual([...allTopics()].sort());
      const events = report.topics.find((t) => t.topic === Topics.paymentEvents);
      expect(events).toMatchObject({ kind: 'events', messages: '4', endOffset: '4' });
      expect(events?.partitions).toHaveLength(2);
      expect(report.topics.find((t) => t.topic === Topics.voidCommands)).toMatchObject({ kind: 'commands', messages: '2' });
      expect(report.topics.find((t) => t.topic === `${Topics.voidCommands}.dlq`)).toMatchObject({ kind: 'dead-letter', messages: '0' });
    });

    it('runs as a process and prints JSON for scripts', async () => {
      const { code, stdout } = await cli(['--brokers', brokers(), '--topic-prefix', prefix, '--json', 'topics']);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as { topics: { topic: string; messages: string }[] };
      expect(report.topics.find((t) => t.topic === Topics.clearingEvents)?.messages).toBe('6');
    });
  });

  describe('tail', () => {
    const read = async (topic: string, options: Parameters<typeof tailCommand>[2]) => {
      const got: MessageRecord[] = [];
      await tailCommand(ctx, topic, options, (r) => got.push(r));
      return got;
    };

    it('decodes messages, masks payment codes, and filters by merchant, payment and type', async () => {
      const all = await read(Topics.paymentEvents, { fromBeginning: true });
      expect(all).toHaveLength(4);
      const mine = await read(Topics.paymentEvents, { fromBeginning: true, merchant: 'M100', types: ['pos.payment.succeeded'] });
      expect(mine.map((r) => r.data)).toEqual([
        expect.objectContaining({ paymentId: stories.voided }),
        expect.objectContaining({ paymentId: stories.cleared }),
      ]);
      const one = await read(Topics.voidEvents, { fromBeginning: true, payment: stories.voided });
      expect(one.map((r) => r.event?.type)).toEqual(['pos.void.accepted']);
      const [command] = await read(Topics.paymentCommands, { merchant: 'M100' });
      expect(command.data).toMatchObject({ paymentCode: '[REDACTED]', outTradeNo: 'ORDER-V' });
      expect(command.problem).toBeUndefined();
    });

    it('reads from an offset and from a time', async () => {
      const [p0] = (await broker.topicOffsets([Topics.clearingEvents]))[0].partitions.filter((p) => p.high !== '0');
      const fromOffset = await read(Topics.clearingEvents, { partition: String(p0.partition), offset: '1' });
      expect(fromOffset.map((r) => r.offset)).toEqual(Array.from({ length: Number(p0.high) - 1 }, (_, i) => String(i + 1)));
      expect(await read(Topics.clearingEvents, { since: '1h' })).toHaveLength(6);
      expect(await read(Topics.clearingEvents, { since: '2099-01-01T00:00:00Z' })).toHaveLength(0);
    });

    it('follows new messages until stopped, up to a limit', async () => {
      const got: MessageRecord[] = [];
      const following = tailCommand(ctx, Topics.paymentEvents, { follow: true, limit: '1', merchant: 'M300' }, (r) => got.push(r));
      await new Promise((r) => setTimeout(r, 4_000));
      const producer = await broker.createProducer();
      const late = paymentStories('M300').messages.find((m) => m.topic === Topics.paymentEvents) as ReturnType<typeof encodeEnvelope>;
      await producer.send([late]);
      await producer.disconnect();
      await following;
      expect(got.map((r) => r.key)).toEqual(['M300']);
    });

    it('refuses an unknown topic, a bad offset and a missing partition with their exit codes', async () => {
      await expectCliError(read('payments.evnts.v1', {}), ExitCode.notFound, /does not exist/);
      await expectCliError(read(Topics.paymentEvents, { offset: '999', partition: '0' }), ExitCode.offsetOutOfRange, /outside partition 0/);
      await expectCliError(read(Topics.paymentEvents, { partition: '7' }), ExitCode.offsetOutOfRange, /no partition 7/);
      await expectCliError(read(Topics.paymentEvents, { offset: 'ten' }), ExitCode.usage, /not a non-negative integer/);
      await expectCliError(read(Topics.paymentEvents, { since: 'yesterday' }), ExitCode.usage, /RFC 3339/);
    });

    it('runs as a process: NDJSON output, and exit codes 4, 5, 2 and 3', async () => {
      const base = ['--brokers', brokers(), '--topic-prefix', prefix];
      const ok = await cli([...base, '--json', 'tail', Topics.paymentEvents, '--from-beginning', '--payment', stories.cleared]);
      expect(ok.code).toBe(0);
      const lines = ok.stdout.trim().split('\n').map((l) => JSON.parse(l) as MessageRecord);
      expect(lines.map((l) => l.event?.type)).toEqual(['pos.payment.succeeded']);

      const unknown = await cli([...base, 'tail', 'no.such.topic']);
      expect(unknown.code).toBe(ExitCode.notFound);
      expect(unknown.stderr).toMatch(/topic no.such.topic does not exist/);
      const badOffset = await cli([...base, 'tail', Topics.paymentEvents, '-p', '0', '-o', '1000']);
      expect(badOffset.code).toBe(ExitCode.offsetOutOfRange);
      const usage = await cli([...base, 'tail']);
      expect(usage.code).toBe(ExitCode.usage);
      const unreachable = await cli(['--brokers', 'localhost:1', '--timeout', '1500', 'topics']);
      expect(unreachable.code).toBe(ExitCode.brokerUnreachable);
      expect(unreachable.stderr).toMatch(/cannot reach Kafka at localhost:1/);
    });
  });

  describe('lag', () => {
    it('reports the lag of a service group per partition', async () => {
      const group = 'clearing-service';
      const seen: InboundMessage[] = [];
      const consumer = await broker.createConsumer({ groupId: group, topics: [Topics.voidEvents] });
      await consumer.run(async (m) => {
        seen.push(m);
      });
      const deadline = Date.now() + 30_000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await consumer.stop();
      const producer = await broker.createProducer();
      await producer.send(paymentStories('M400').messages.filter((m) => m.topic === Topics.voidEvents));
      await producer.disconnect();

      const report = await lagCommand(ctx, { group });
      expect(report.rows.every((r) => r.group === group && r.topic === Topics.voidEvents)).toBe(true);
      expect(report.rows.reduce((sum, r) => sum + Number(r.lag), 0)).toBe(2);
      await expectCliError(lagCommand(ctx, { group: 'nobody' }), ExitCode.notFound, /does not exist/);
    });
  });

  describe('dlq', () => {
    it('lists dead letters with reasons and replays them to the source topic exactly once', async () => {
      const dlq = `${Topics.voidCommands}.dlq`;
      const story = paymentStories('M500');
      const [voidCommand] = story.messages.filter((m) => m.topic === Topics.voidCommands);
      const parked = (reason: string, offset: string, message: typeof voidCommand) => ({
        ...message,
        topic: dlq,
        headers: {
          ...message.headers,
          [DeadLetterHeaders.reason]: reason,
          [DeadLetterHeaders.detail]: `detail of ${reason}`,
          [DeadLetterHeaders.sourceTopic]: Topics.voidCommands,
          [DeadLetterHeaders.sourcePartition]: '0',
          [DeadLetterHeaders.sourceOffset]: offset,
          [DeadLetterHeaders.consumerGroup]: 'void-service',
          [DeadLetterHeaders.failedAt]: new Date().toISOString(),
        },
      });
      const second = encodeEnvelope(Topics.voidCommands, {
        id: 'evt-second', type: 'pos.void.requested', source: '/upstream', time: '2026-11-27T12:00:00+08:00', schemaVersion: 1, key: 'M501',
        data: JSON.parse(String(voidCommand.value)),
      });
      const producer = await broker.createProducer();
      await producer.send([parked('REJECTED_BY_HANDLER', '7', voidCommand), parked('RETRIES_EXHAUSTED', '8', second)]);
      await producer.disconnect();

      const listed = await dlqListCommand(ctx, { topic: Topics.voidCommands });
      expect(listed.map((e) => e.record.deadLetter?.reason).sort()).toEqual(['REJECTED_BY_HANDLER', 'RETRIES_EXHAUSTED']);
      expect(listed.every((e) => e.replayedAs === undefined)).toBe(true);
      const first = listed.find((e) => e.record.deadLetter?.reason === 'REJECTED_BY_HANDLER');
      if (!first) throw new Error('the REJECTED_BY_HANDLER dead letter is not listed');
      const at = `${first.record.partition}:${first.record.offset}`;
      expect((await dlqShowCommand(ctx, dlq, at)).record.deadLetter).toMatchObject({ sourceOffset: '7', consumerGroup: 'void-service' });
      await expectCliError(dlqShowCommand(ctx, dlq, '0:99'), ExitCode.notFound, /no dead-lettered message/);

      const one = await dlqReplayCommand(ctx, dlq, { position: at });
      expect(one.replayed).toHaveLength(1);
      const all = await dlqReplayCommand(ctx, dlq, { all: true });
      expect(all.replayed).toHaveLength(1);
      expect(all.skipped.map((s) => s.from)).toEqual([`${dlq}/${at.replace(':', '/')}`]);
      const again = await dlqReplayCommand(ctx, Topics.voidCommands, { all: true });
      expect(again.replayed).toHaveLength(0);
      expect(again.skipped).toHaveLength(2);

      const process = await cli(['--brokers', brokers(), '--topic-prefix', prefix, 'dlq', 'replay', dlq, '--all']);
      expect(process.code).toBe(0);
      expect(process.stdout).toMatch(/0 replayed, 2 already replayed/);

      const copies: MessageRecord[] = [];
      await tailCommand(ctx, Topics.voidCommands, { fromBeginning: true }, (r) => copies.push(r));
      const replays = copies.filter((r) => r.replayOf);
      expect(replays).toHaveLength(2);
      const copy = replays.find((r) => r.key === 'M500');
      expect(copy?.event?.id).toBe(voidCommand.headers['ce_id']);
      expect(copy?.headers[DeadLetterHeaders.reason]).toBeUndefined();
      expect(copy?.headers[ReplayHeaders.replayOf]).toBe(`${dlq}/${at.replace(':', '/')}`);
      expect(JSON.stringify(copy?.data)).toBe(String(voidCommand.value));
      expect((await dlqListCommand(ctx, { topic: dlq })).every((e) => e.replayedAs !== undefined)).toBe(true);
    });
  });

  describe('payment trace and batch show', () => {
    it('tells the story of a voided payment, in order', async () => {
      const trace = await paymentTraceCommand(ctx, stories.voided);
      expect(trace.status).toBe('VOIDED');
      expect(trace.batchIds).toEqual([stories.batchId]);
      expect(trace.events.map((e) => e.event?.type)).toEqual([
        'pos.payment.requested',
        'pos.payment.succeeded',
        'pos.void.requested',
        'pos.void.accepted',
        'pos.clearing.batch.closing',
        'pos.void.gate-closed',
        'pos.clearing.batch.closed',
      ]);
      expect(trace.events.every((e) => e.key === 'M100')).toBe(true);
    });

    it('tells the story of a cleared payment, in order', async () => {
      const trace = await paymentTraceCommand(ctx, stories.cleared);
      expect(trace.status).toBe('CLEARED');
      expect(trace.events.map((e) => e.event?.type)).toEqual([
        'pos.payment.succeeded',
        'pos.clearing.batch.closing',
        'pos.void.gate-closed',
        'pos.clearing.payment.cleared',
        'pos.clearing.batch.closed',
      ]);
    });

    it('shows a batch with its totals, and says when an id is unknown', async () => {
      const story = await batchShowCommand(ctx, stories.batchId);
      expect(story.status).toBe('CLOSED');
      expect(story.totals).toMatchObject({ paymentCount: 1, totalFen: 5000, voidedCount: 1, voidedFen: 1999 });
      expect(story.events.map((e) => e.event?.type)).toEqual([
        'pos.void.accepted',
        'pos.clearing.batch.closing',
        'pos.void.gate-closed',
        'pos.clearing.payment.cleared',
        'pos.clearing.batch.closed',
      ]);
      await expectCliError(paymentTraceCommand(ctx, '00000000-0000-4000-8000-000000000000'), ExitCode.notFound, /no event mentions/);
      const text = await cli(['--brokers', brokers(), '--topic-prefix', prefix, 'payment', 'trace', stories.voided]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`payment ${stories.voided}: VOIDED`));
    });
  });
});
