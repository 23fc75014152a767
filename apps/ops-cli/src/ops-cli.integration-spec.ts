import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { AddressInfo, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { allTopics, Topics } from '@pos/contracts';
import {
  DeadLetterHeaders,
  encodeEnvelope,
  InboundMessage,
  KafkajsBroker,
  MessageBroker,
  NamespacedBroker,
  OutboundMessage,
  ReplayHeaders,
} from '@pos/messaging';
import { kafkaClientOf, kafkaEnvOf, testStack, uniqueName } from '@pos/testing';
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
/** The CLI authenticates as the tests do (the stack's admin), through its environment variables. */
const kafkaEnv = kafkaEnvOf(testStack());

/** The CLI as a real process: its main through ts-node, as `npm run ops` runs the bundle. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(root, 'apps/ops-cli/src/main.ts'), ...args],
      { cwd: root, env: { ...process.env, ...kafkaEnv, TS_NODE_PROJECT: join(root, 'tsconfig.integration.json'), ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A copy of `message` as a consumer would park it on the source topic's `.dlq`. */
function parkedCopy(message: OutboundMessage, reason: string, sourceOffset: string): OutboundMessage {
  return {
    ...message,
    topic: `${message.topic}.dlq`,
    headers: {
      ...message.headers,
      [DeadLetterHeaders.reason]: reason,
      [DeadLetterHeaders.detail]: `detail of ${reason}`,
      [DeadLetterHeaders.sourceTopic]: message.topic,
      [DeadLetterHeaders.sourcePartition]: '0',
      [DeadLetterHeaders.sourceOffset]: sourceOffset,
      [DeadLetterHeaders.consumerGroup]: 'payment-service.commands',
      [DeadLetterHeaders.failedAt]: new Date().toISOString(),
    },
  };
}

/** The CLI as a long-running process (a follower), for signals. */
function cliProcess(args: string[]): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(root, 'apps/ops-cli/src/main.ts'), ...args],
    { cwd: root, env: { ...process.env, ...kafkaEnv, TS_NODE_PROJECT: join(root, 'tsconfig.integration.json') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function timed<T>(work: Promise<T>): Promise<T & { ms: number }> {
  const started = Date.now();
  const result = await work;
  return { ...result, ms: Date.now() - started };
}

/** How a process ended and how long after `since` it did. */
async function exitOf(child: ChildProcess, since: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const [code, signal] = (child.exitCode !== null || child.signalCode !== null
    ? [child.exitCode, child.signalCode]
    : await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal, ms: Date.now() - since };
}

/** A port on the loopback interface that nothing listens on: connections are refused at once. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A listener on the loopback interface that accepts connections and never answers, as a hung broker would. */
async function silentLoopbackListener(): Promise<{ port: number; connected: Promise<void>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    connected();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connected: firstConnection,
    close: async () => {
      sockets.forEach((s) => s.destroy());
      server.close();
      await once(server, 'close');
    },
  };
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
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, prefix)), prefix);
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
      const mine = await read(Topics.paymentEvents, { fromBeginning: true, merchant: 'M100', type: 'pos.payment.succeeded' });
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

  describe('dlq filters, shared with tail', () => {
    const dlq = `${Topics.paymentCommands}.dlq`;
    let boundary: string;
    const request = (merchantId: string, type: string, outTradeNo: string) =>
      encodeEnvelope(Topics.paymentCommands, {
        id: `evt-${outTradeNo}`, type, source: '/upstream', time: '2026-11-27T12:00:00+08:00', schemaVersion: 1, key: merchantId,
        data: { merchantId, terminalId: 'T1', channel: 'WECHAT', amountFen: 1999, currency: 'CNY', outTradeNo, paymentCode: '134567890123456789' },
      });
    const keysOf = (stdout: string) =>
      (JSON.parse(stdout) as { record: MessageRecord }[]).map((e) => (e.record.data as { outTradeNo: string }).outTradeNo).sort();
    const run = (...args: string[]) => cli(['--brokers', brokers(), '--topic-prefix', prefix, '--json', ...args]);

    beforeAll(async () => {
      const producer = await broker.createProducer();
      await producer.send([
        parkedCopy(request('M700', 'pos.payment.requested', 'EARLY-700'), 'SCHEMA_VIOLATION', '1'),
        parkedCopy(request('M701', 'pos.payment.requested', 'EARLY-701'), 'REJECTED_BY_HANDLER', '2'),
      ]);
      // Kafka timestamps are milliseconds: keep the two rounds apart from the boundary between them.
      await new Promise((r) => setTimeout(r, 100));
      boundary = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 100));
      await producer.send([
        parkedCopy(request('M700', 'pos.payment.requested', 'LATE-700'), 'SCHEMA_VIOLATION', '3'),
        parkedCopy(request('M701', 'pos.payment.refund-requested', 'LATE-701'), 'UNKNOWN_EVENT_TYPE', '4'),
      ]);
      await producer.disconnect();
    });

    it('dlq list selects by time, merchant and event type, alone or together', async () => {
      const since = await run('dlq', 'list', dlq, '--since', boundary);
      expect({ code: since.code, stderr: since.code === 0 ? '' : since.stderr }).toEqual({ code: 0, stderr: '' });
      expect(keysOf(since.stdout)).toEqual(['LATE-700', 'LATE-701']);
      expect(keysOf((await run('dlq', 'list', dlq, '--until', boundary)).stdout)).toEqual(['EARLY-700', 'EARLY-701']);
      expect(keysOf((await run('dlq', 'list', dlq, '--merchant', 'M700')).stdout)).toEqual(['EARLY-700', 'LATE-700']);
      expect(keysOf((await run('dlq', 'list', dlq, '--type', 'pos.payment.refund-requested')).stdout)).toEqual(['LATE-701']);
      expect(keysOf((await run('dlq', 'list', '--merchant', 'M701', '--since', boundary, '--reason', 'UNKNOWN_EVENT_TYPE')).stdout)).toEqual([
        'LATE-701',
      ]);
      const backwards = await run('dlq', 'list', dlq, '--since', boundary, '--until', '1h');
      expect(backwards.code).toBe(ExitCode.usage);
      expect(backwards.stderr).toMatch(/--until .* is not after --since/);
    });

    it('tail takes the same filters, --until included', async () => {
      const early = await run('tail', dlq, '--from-beginning', '--until', boundary);
      expect(early.code).toBe(0);
      const keys = early.stdout.trim().split('\n').map((l) => ((JSON.parse(l) as MessageRecord).data as { outTradeNo: string }).outTradeNo);
      expect(keys.sort()).toEqual(['EARLY-700', 'EARLY-701']);
      expect((await run('tail', dlq, '--follow', '--until', boundary)).code).toBe(ExitCode.usage);
    });

    it('dlq replay --all replays only the selected dead letters', async () => {
      const replay = await run('dlq', 'replay', dlq, '--all', '--merchant', 'M700', '--until', boundary);
      expect(replay.code).toBe(0);
      expect((JSON.parse(replay.stdout) as { replayed: unknown[] }).replayed).toHaveLength(1);
      const listed = JSON.parse((await run('dlq', 'list', dlq)).stdout) as { record: MessageRecord; replayedAs?: string }[];
      const replayed = listed.filter((e) => e.replayedAs).map((e) => (e.record.data as { outTradeNo: string }).outTradeNo);
      expect(replayed).toEqual(['EARLY-700']);
      const copies: MessageRecord[] = [];
      await tailCommand(ctx, Topics.paymentCommands, { fromBeginning: true }, (r) => copies.push(r));
      expect(copies.filter((r) => r.replayOf).map((r) => r.key)).toEqual(['M700']);

      const [one] = listed;
      const mixed = await run('dlq', 'replay', dlq, `${one.record.partition}:${one.record.offset}`, '--merchant', 'M700');
      expect(mixed.code).toBe(ExitCode.usage);
      expect(mixed.stderr).toMatch(/only with --all/);
    });
  });

  it('does not replay a dead letter of a money event without an approved request; --all leaves it and says so', async () => {
    const dlq = `${Topics.voidEvents}.dlq`;
    const [accepted] = paymentStories('M950').messages.filter((m) => m.headers['ce_type'] === 'pos.void.accepted');
    const producer = await broker.createProducer();
    await producer.send([parkedCopy(accepted, 'REJECTED_BY_HANDLER', '12')]);
    await producer.disconnect();
    const [parked] = (await dlqListCommand(ctx, { topic: dlq })).filter((e) => e.record.key === 'M950');
    const at = `${parked.record.partition}:${parked.record.offset}`;
    const from = `${dlq}/${at.replace(':', '/')}`;

    await expectCliError(dlqReplayCommand(ctx, dlq, { position: at }), ExitCode.refused, /pos\.void\.accepted event: replaying it moves money/);
    const all = await dlqReplayCommand(ctx, dlq, { all: true, merchant: 'M950' });
    expect(all).toMatchObject({ replayed: [], needsApproval: [{ from, type: 'pos.void.accepted' }] });
    const process = await cli(['--brokers', brokers(), '--topic-prefix', prefix, 'dlq', 'replay', dlq, at]);
    expect(process.code).toBe(ExitCode.refused);
    expect(process.stderr).toMatch(/approvals request-replay/);
    // An approval id without the clearing API behind it replays nothing either.
    const unreachable = await cli(['--brokers', brokers(), '--topic-prefix', prefix, '--clearing-url', 'http://127.0.0.1:9', 'dlq', 'replay', dlq, at, '--approval', '00000000-0000-4000-8000-000000000000'], { OPS_OPERATOR_TOKEN: 'token' });
    expect(unreachable.code).toBe(ExitCode.apiUnreachable);

    const copies: MessageRecord[] = [];
    await tailCommand(ctx, Topics.voidEvents, { fromBeginning: true }, (r) => copies.push(r));
    expect(copies.filter((r) => r.replayOf === from)).toEqual([]);
    expect((await dlqListCommand(ctx, { topic: dlq })).find((e) => e.record.key === 'M950')?.replayedAs).toBeUndefined();
  });

  it('never replays a cut copy of a message too large to park, and says where the original is', async () => {
    const dlq = `${Topics.paymentEvents}.dlq`;
    const [payment] = paymentStories('M900').messages.filter((m) => m.topic === Topics.paymentEvents);
    const producer = await broker.createProducer();
    await producer.send([
      {
        ...payment,
        topic: dlq,
        value: String(payment.value).slice(0, 20),
        headers: {
          ...payment.headers,
          [DeadLetterHeaders.reason]: 'SCHEMA_VIOLATION',
          [DeadLetterHeaders.detail]: 'cut',
          [DeadLetterHeaders.sourceTopic]: Topics.paymentEvents,
          [DeadLetterHeaders.sourcePartition]: '2',
          [DeadLetterHeaders.sourceOffset]: '41',
          [DeadLetterHeaders.consumerGroup]: 'clearing-service.payments',
          [DeadLetterHeaders.failedAt]: new Date().toISOString(),
          [DeadLetterHeaders.truncatedFrom]: '2000000',
        },
      },
    ]);
    await producer.disconnect();
    const [cut] = (await dlqListCommand(ctx, { topic: Topics.paymentEvents })).filter((e) => e.record.key === 'M900');
    const at = `${cut.record.partition}:${cut.record.offset}`;
    await expectCliError(dlqReplayCommand(ctx, dlq, { position: at }), ExitCode.usage, /cut copy/);
    const all = await dlqReplayCommand(ctx, dlq, { all: true, merchant: 'M900' });
    expect(all.replayed).toEqual([]);
    expect(all.refused).toEqual([{ from: `${dlq}/${at.replace(':', '/')}`, original: `${Topics.paymentEvents}/2/41` }]);
  });

  describe('deadlines and interrupts', () => {
    /** The process's own start (ts-node) is no waiting on Kafka: measured once, on a command that fails before connecting. */
    let startup: number;

    beforeAll(async () => {
      const usage = await timed(cli(['--timeout', 'soon', 'topics']));
      expect(usage.code).toBe(ExitCode.usage);
      startup = usage.ms;
    });

    it('gives up on a refused address after --timeout, not after the Kafka client\'s retries', async () => {
      const port = await closedLoopbackPort();
      const run = await timed(cli(['--brokers', `127.0.0.1:${port}`, '--timeout', '2000', 'topics']));
      expect(run.code).toBe(ExitCode.brokerUnreachable);
      expect(run.stderr).toMatch(/cannot reach Kafka at 127.0.0.1:[0-9]+: .*2000 ms/);
      expect(run.ms).toBeGreaterThanOrEqual(2000);
      expect(run.ms - startup).toBeLessThan(2000 + 3000);
    });

    it('gives up on a listener that never answers after --timeout', async () => {
      const listener = await silentLoopbackListener();
      try {
        const run = await timed(cli(['--brokers', `127.0.0.1:${listener.port}`, '--timeout', '2000', 'topics']));
        expect(run.code).toBe(ExitCode.brokerUnreachable);
        expect(run.ms).toBeGreaterThanOrEqual(2000);
        expect(run.ms - startup).toBeLessThan(2000 + 3000);
      } finally {
        await listener.close();
      }
    });

    it('ends at once on Ctrl-C while it waits for the cluster, with exit code 130', async () => {
      const listener = await silentLoopbackListener();
      const child = cliProcess(['--brokers', `127.0.0.1:${listener.port}`, '--timeout', '60000', 'topics']);
      try {
        await listener.connected;
        const interruptedAt = Date.now();
        child.kill('SIGINT');
        const end = await exitOf(child, interruptedAt);
        // 128 + SIGINT, as a shell reports an interrupted command.
        expect(end).toMatchObject({ code: 130, signal: null });
        expect(end.ms).toBeLessThan(1500);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await listener.close();
      }
    });

    it('tail --follow ends within a moment of Ctrl-C, with exit code 0', async () => {
      const merchantId = 'M600';
      const child = cliProcess(['--brokers', brokers(), '--topic-prefix', prefix, '--json', 'tail', Topics.paymentEvents, '--follow', '--merchant', merchantId]);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      try {
        const late = paymentStories(merchantId).messages.filter((m) => m.topic === Topics.paymentEvents).slice(0, 1);
        const producer = await broker.createProducer();
        try {
          // The follower starts at the end of the topic once it has joined: write until it prints a message.
          const deadline = Date.now() + 60_000;
          while (!stdout.includes('\n') && child.exitCode === null && Date.now() < deadline) {
            await producer.send(late);
            await new Promise((r) => setTimeout(r, 500));
          }
        } finally {
          await producer.disconnect();
        }
        expect(JSON.parse(stdout.split('\n')[0])).toMatchObject({ key: merchantId });
        const interruptedAt = Date.now();
        child.kill('SIGINT');
        const end = await exitOf(child, interruptedAt);
        expect(end).toMatchObject({ code: ExitCode.ok, signal: null });
        expect(end.ms).toBeLessThan(1500);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  });

  describe('the documented invocation', () => {
    it('`npm run --silent ops -- --json topics` prints the JSON document and nothing else on stdout', async () => {
      const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'npm',
          ['run', '--silent', 'ops', '--', '--brokers', brokers(), '--topic-prefix', prefix, '--json', 'topics'],
          { cwd: root, env: { ...process.env, ...kafkaEnv }, timeout: 170_000, maxBuffer: 16 << 20 },
          (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      const report = JSON.parse(run.stdout) as { topics: { topic: string }[]; missing: string[] };
      expect(report.topics.map((t) => t.topic).sort()).toEqual([...allTopics()].sort());
    }, 180_000);
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
      // Each step under the trace that caused it: the payment's, the void's, the batch close's.
      expect(trace.traceIds).toEqual([stories.traces.payment, stories.traces.void, stories.traces.close]);
      expect(trace.events.map((e) => e.event?.traceId)).toEqual([
        stories.traces.payment,
        stories.traces.payment,
        stories.traces.void,
        stories.traces.void,
        stories.traces.close,
        stories.traces.close,
        stories.traces.close,
      ]);
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
      expect(text.stdout).toContain(`traces ${stories.traces.payment}, ${stories.traces.void}, ${stories.traces.close}`);
      expect(text.stdout).toContain(`trace=${stories.traces.void}`);
    });
  });
});
