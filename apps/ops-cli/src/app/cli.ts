import { Logger, LoggerService } from '@nestjs/common';
import { Command, CommanderError, Option } from 'commander';
import { KafkajsBroker, MessageBroker, NamespacedBroker } from '@pos/messaging';
import { brokerConnection, ConnectionOptions } from './connection';
import { OpsContext, opsContext } from './context';
import { CliError, ExitCode, exitCodeOnSignal, usageError } from './exit-codes';
import { withRecordFilters } from './filters';
import { renderRecord } from './records';
import { batchShowCommand, paymentTraceCommand, renderBatchStory, renderPaymentTrace } from './commands/trace';
import {
  DeadLetterSelection,
  dlqListCommand,
  dlqReplayCommand,
  dlqShowCommand,
  renderDeadLetter,
  renderDeadLetters,
  ReplayOptions,
} from './commands/dlq';
import { lagCommand, renderLag } from './commands/lag';
import {
  auditCommand,
  AuditOptions,
  decideCommand,
  listApprovalsCommand,
  renderApprovals,
  renderAudit,
  requestReplayCommand,
  requestSettlementCommand,
  showApprovalCommand,
} from './commands/approvals';
import { OperatorApi } from './operator-api';
import { renderTopics, topicsCommand } from './commands/topics';
import { tailCommand, TailOptions } from './commands/tail';
import { supervisorHashCommand, SupervisorHashOptions } from './commands/supervisor';
import { dbProvisionCommand, DbProvisionOptions } from './commands/database';
import { deliveriesCommand, DeliveriesOptions, deliveryShowCommand, redriveCommand, renderDeliveries, renderDelivery } from './commands/webhooks';
import { kafkaCredentialsCommand, KafkaCredentialsOptions, kafkaSetupCommand, renderKafkaCredentials, renderKafkaSetup } from './commands/kafka';

export interface CliIo {
  /** One chunk of standard output (a line or a block, without the trailing newline). */
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /**
   * Aborted (with the signal's name as reason) on SIGINT/SIGTERM: ends a follower (`tail --follow`)
   * normally, and any other command at once with exit code 130/143.
   */
  readonly signal?: AbortSignal;
  /** All of standard input, for the commands that read a secret from it. */
  readonly readInput?: () => Promise<string>;
}

interface GlobalOptions extends ConnectionOptions {
  readonly topicPrefix: string;
  readonly json?: boolean;
  readonly timeout: string;
  readonly verbose?: boolean;
  readonly clearingUrl: string;
  readonly voidUrl: string;
  readonly operatorToken?: string;
}

export const DEFAULT_BROKERS = 'localhost:19092';
export const DEFAULT_CLEARING_URL = 'http://localhost:3002';
export const DEFAULT_VOID_URL = 'http://localhost:3003';

/** kafkajs logs through Nest's Logger; a CLI's stdout belongs to its output, so logs go to stderr, if at all. */
function stderrLogger(io: CliIo, verbose: boolean): LoggerService {
  const write = (level: string) => (message: unknown, context?: unknown) => io.err(`[${level}] ${context ? `${String(context)}: ` : ''}${String(message)}`);
  const quiet = () => undefined;
  return {
    log: verbose ? write('info') : quiet,
    warn: verbose ? write('warn') : quiet,
    error: verbose ? write('error') : quiet,
    debug: quiet,
    verbose: quiet,
  };
}

const BROKER_ERRORS = /KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|KafkaJSBrokerNotFound|KafkaJSSASLAuthenticationError|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|did not answer within/;

function isBrokerUnreachable(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return BROKER_ERRORS.test(`${String(e?.name)} ${String(e?.message)} ${String(e?.code)}`);
}

/** Builds the `pos-ops` program; every action resolves to the process's exit code. */
export function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('ops')
    .description('Operator CLI of the POS payments platform: topics, tail, lag, dead letters, payment and batch traces, approvals, the audit trail, webhook deliveries, database roles')
    .addOption(new Option('--brokers <host:port,...>', 'Kafka bootstrap servers').env('KAFKA_BROKERS').default(DEFAULT_BROKERS))
    .addOption(new Option('--topic-prefix <prefix>', 'prefix of every topic and group (tests, shared clusters)').env('KAFKA_TOPIC_PREFIX').default(''))
    .addOption(new Option('--ssl', 'connect with TLS').env('KAFKA_SSL'))
    .addOption(new Option('--ssl-ca <file>', 'PEM file of the CA that signed the brokers\' certificates (implies --ssl)').env('KAFKA_SSL_CA'))
    .addOption(new Option('--ssl-insecure', 'do not verify the brokers\' certificates (implies --ssl)'))
    .addOption(new Option('--sasl-mechanism <mechanism>', 'SASL mechanism').choices(['plain', 'scram-sha-256', 'scram-sha-512']).env('KAFKA_SASL_MECHANISM'))
    .addOption(new Option('--sasl-username <user>', 'SASL user name').env('KAFKA_SASL_USERNAME'))
    .addOption(new Option('--sasl-password <password>', 'SASL password (prefer the environment variable)').env('KAFKA_SASL_PASSWORD'))
    .addOption(new Option('--timeout <ms>', 'how long to wait for the cluster to answer before giving up (exit code 3)').default('10000'))
    .addOption(new Option('--clearing-url <url>', 'the clearing API, for approvals, replays of money events and the audit trail').env('CLEARING_URL').default(DEFAULT_CLEARING_URL))
    .addOption(new Option('--void-url <url>', 'the void service API, for webhook deliveries').env('VOID_URL').default(DEFAULT_VOID_URL))
    .addOption(new Option('--operator-token <token>', 'your operator token for the clearing and void APIs (prefer the environment variable)').env('OPS_OPERATOR_TOKEN'))
    .option('--json', 'machine-readable output: one JSON document (tail: one JSON object per line)')
    .option('--verbose', 'Kafka client logs on stderr')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });

  const run =
    <A extends unknown[]>(work: (ctx: OpsContext, globals: GlobalOptions, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const follows = command.opts()['follow'] === true;
      setExit(await withBroker(globals, io, follows, (ctx) => work(ctx, globals, ...args)));
    };
  const print = (globals: GlobalOptions, value: unknown, text: () => string) =>
    io.out(globals.json ? JSON.stringify(value, null, 2) : text());
  const apiOf = (globals: GlobalOptions, service: 'clearing' | 'void' = 'clearing') => {
    if (!/^[0-9]{1,7}$/.test(globals.timeout)) throw usageError(`--timeout ${globals.timeout} is not a number of milliseconds`);
    const where = service === 'clearing' ? { url: globals.clearingUrl, urlOption: '--clearing-url (or CLEARING_URL)' } : { url: globals.voidUrl, urlOption: '--void-url (or VOID_URL)' };
    return new OperatorApi({ service, ...where, operatorToken: globals.operatorToken, timeoutMs: Number(globals.timeout) });
  };
  /** Commands that talk to a service's API only (the clearing API unless said), not to Kafka. */
  const runApi =
    <A extends unknown[]>(work: (api: OperatorApi, globals: GlobalOptions, ...args: A) => Promise<void>, service: 'clearing' | 'void' = 'clearing') =>
    async (...args: A) => {
      const globals = (args[args.length - 1] as Command).optsWithGlobals<GlobalOptions>();
      await work(apiOf(globals, service), globals, ...args);
      setExit(ExitCode.ok);
    };

  program
    .command('topics')
    .description('every topic with its partitions, end offsets and message counts')
    .action(
    run(async (ctx, g) => {
      const report = await topicsCommand(ctx);
      print(g, report, () => renderTopics(report));
    }),
  );

  withRecordFilters(
    program
      .command('tail <topic>')
      .description('decoded messages of a topic: the last ones, from an offset or a time (--since starts there), or following')
      .option('-f, --follow', 'keep reading new messages until interrupted (Ctrl-C ends it with exit code 0)')
      .option('-p, --partition <n>', 'only this partition')
      .option('-o, --offset <n>', 'start at this offset (of --partition, or of every partition)')
      .option('--from-beginning', 'start at the first stored message')
      .option('-n, --last <n>', 'the last n messages of each partition (default 10)')
      .option('--limit <n>', 'stop after n matching messages'),
  ).action(
    run(async (ctx, g, topic: string, options: TailOptions) => {
      await tailCommand(
        ctx,
        topic,
        options,
        (record) => io.out(g.json ? JSON.stringify(record) : `${renderRecord(record)}\n`),
        io.signal,
      );
    }),
  );

  program
    .command('lag')
    .description('consumer lag per group, topic and partition')
    .option('-g, --group <id>', 'only this consumer group')
    .action(
      run(async (ctx, g, options: { group?: string }) => {
        const report = await lagCommand(ctx, options);
        print(g, report, () => renderLag(report));
      }),
    );

  const dlq = program.command('dlq').description('dead-lettered messages: list, show, replay');
  withRecordFilters(
    dlq
      .command('list [topic]')
      .description('dead-lettered messages with their reasons (all dead-letter topics, or one; a source topic names its .dlq)')
      .option('--reason <reason>', 'only this dlq_reason, e.g. SCHEMA_VIOLATION'),
  ).action(
    run(async (ctx, g, topic: string | undefined, options: DeadLetterSelection) => {
      const entries = await dlqListCommand(ctx, { ...options, ...(topic !== undefined ? { topic } : {}) });
      print(g, entries, () => renderDeadLetters(entries));
    }),
  );
  dlq
    .command('show <topic> <position>')
    .description('one dead-lettered message, decoded, at <partition>:<offset>')
    .action(
      run(async (ctx, g, topic: string, at: string) => {
        const entry = await dlqShowCommand(ctx, topic, at);
        print(g, entry, () => renderDeadLetter(entry));
      }),
    );
  withRecordFilters(
    dlq
      .command('replay <topic> [position]')
      .description('write dead-lettered messages back to their source topic, once: one at <partition>:<offset>, or --all (the filters select among them)')
      .option('--all', 'every message of the dead-letter topic not replayed yet')
      .option('--reason <reason>', 'with --all: only messages parked for this reason')
      .option('--dry-run', 'say what would be replayed, write nothing')
      .option('--approval <id>', 'an approved request (approvals request-replay) for this one dead letter of a money event'),
  ).action(
    run(async (ctx, g, topic: string, at: string | undefined, options: Omit<ReplayOptions, 'position'>) => {
      const report = await dlqReplayCommand(ctx, topic, { ...options, ...(at ? { position: at } : {}) }, options.approval !== undefined ? apiOf(g) : undefined);
      print(g, report, () =>
        [
          ...report.replayed.map((r) => `${report.dryRun ? 'would replay' : 'replayed'} ${r.from} -> ${r.to}`),
          ...report.skipped.map((s) => `skipped ${s.from}: already replayed as ${s.replayedAs}`),
          ...report.refused.map((r) => `refused ${r.from}: a cut copy of a message too large to park; re-send the original from ${r.original}`),
          ...report.needsApproval.map((r) => `left ${r.from}: a ${r.type} moves money; request its replay with \`approvals request-replay\``),
          `${report.replayed.length} ${report.dryRun ? 'to replay' : 'replayed'}, ${report.skipped.length} already replayed`,
        ].join('\n'),
      );
    }),
  );

  const approvals = program.command('approvals').description("four eyes: money-moving actions requested by one operator, approved by another (the clearing API)");
  approvals
    .command('list')
    .description('approval requests, newest first')
    .option('--state <state>', 'PENDING, APPROVED, REJECTED, EXECUTED or EXPIRED')
    .option('--limit <n>', 'at most n (default 100)')
    .action(
      runApi(async (api, g, options: { state?: string; limit?: string }) => {
        const list = await listApprovalsCommand(api, options);
        print(g, list, () => renderApprovals(list));
      }),
    );
  approvals
    .command('show <approvalId>')
    .description('one approval request')
    .action(
      runApi(async (api, g, approvalId: string) => {
        const approval = await showApprovalCommand(api, approvalId);
        print(g, approval, () => renderApprovals([approval]));
      }),
    );
  approvals
    .command('request-replay <topic> <position>')
    .description('ask for the replay of one dead letter of a money event (pos.payment.succeeded, pos.void.accepted) at <partition>:<offset>')
    .requiredOption('--reason <text>', 'why: what was fixed, which ticket')
    .action(
      run(async (ctx, g, topic: string, at: string, options: { reason: string }) => {
        const approval = await requestReplayCommand(ctx, apiOf(g), topic, at, options.reason);
        print(g, approval, () => `${renderApprovals([approval])}
another operator approves it with: approvals approve ${approval.approvalId}
then replay with: dlq replay ${topic} ${at} --approval ${approval.approvalId}`);
      }),
    );
  approvals
    .command('request-settlement <merchantId> <terminalId> <batchNo>')
    .description("ask for a terminal settlement (结算) on a merchant's behalf; approving it executes it")
    .requiredOption('--reason <text>', 'why: who asked, which ticket')
    .action(
      runApi(async (api, g, merchantId: string, terminalId: string, batchNo: string, options: { reason: string }) => {
        const approval = await requestSettlementCommand(api, merchantId, terminalId, batchNo, options.reason);
        print(g, approval, () => `${renderApprovals([approval])}
another operator approves it with: approvals approve ${approval.approvalId}`);
      }),
    );
  for (const decision of ['approve', 'reject'] as const) {
    approvals
      .command(`${decision} <approvalId>`)
      .description(`${decision} another operator's request (role approver)${decision === 'approve' ? '; a terminal settlement is executed at once' : ''}`)
      .action(
        runApi(async (api, g, approvalId: string) => {
          const answer = await decideCommand(api, approvalId, decision);
          const approval = 'approval' in answer ? answer.approval : answer;
          print(g, answer, () => renderApprovals([approval]));
        }),
      );
  }

  program
    .command('audit')
    .description('the audit trail of operator and terminal actions (the clearing API), newest first')
    .option('--actor <name>', 'only this operator or merchant')
    .option('--action <action>', 'only this action, e.g. approval.approved, dlq-replay.executed')
    .option('--target <target>', 'only this target: an approval id, merchant/terminal, dead letter')
    .option('--outcome <outcome>', 'SUCCEEDED, REFUSED or FAILED')
    .option('-s, --since <time>', 'recorded at or after this time')
    .option('--until <time>', 'recorded before this time')
    .option('--before <id>', 'older than this record (the next page)')
    .option('--limit <n>', 'at most n (default 100)')
    .action(
      runApi(async (api, g, options: AuditOptions) => {
        const records = await auditCommand(api, options, new Date());
        print(g, records, () => renderAudit(records));
      }),
    );

  const webhooks = program.command('webhooks').description("merchants' webhook deliveries of void outcomes (the void service API): the log, and redrives");
  webhooks
    .command('deliveries')
    .description("a merchant's deliveries, newest first")
    .requiredOption('--merchant <id>', 'whose deliveries')
    .option('--status <status>', 'PENDING, DELIVERED or FAILED')
    .option('--limit <n>', 'at most n (default 100)')
    .action(
      runApi(async (api, g, options: DeliveriesOptions) => {
        const deliveries = await deliveriesCommand(api, options);
        print(g, deliveries, () => renderDeliveries(deliveries));
      }, 'void'),
    );
  webhooks
    .command('show <deliveryId>')
    .description('one delivery with its log: each attempt, its time, HTTP status or error, duration')
    .action(
      runApi(async (api, g, deliveryId: string) => {
        const delivery = await deliveryShowCommand(api, deliveryId);
        print(g, delivery, () => renderDelivery(delivery));
      }, 'void'),
    );
  webhooks
    .command('redrive <deliveryId>')
    .description('try a FAILED delivery again, with a new round of attempts (role operator; in the void service\'s audit trail)')
    .action(
      runApi(async (api, g, deliveryId: string) => {
        const delivery = await redriveCommand(api, deliveryId);
        print(g, delivery, () => `redriven: ${renderDeliveries([delivery])}`);
      }, 'void'),
    );

  program
    .command('batch')
    .description('settlement batches')
    .command('show <batchId>')
    .description('every event about one settlement batch, in order, with its totals')
    .option('-s, --since <time>', 'scan from this time instead of the start of every topic')
    .action(
      run(async (ctx, g, batchId: string, options: { since?: string }) => {
        const story = await batchShowCommand(ctx, batchId, options);
        print(g, story, () => renderBatchStory(story));
      }),
    );

  program
    .command('payment')
    .description('payments')
    .command('trace <paymentId>')
    .description('the story of one payment across topics, in order: payment, void or clearing')
    .option('-s, --since <time>', 'scan from this time instead of the start of every topic')
    .action(
      run(async (ctx, g, paymentId: string, options: { since?: string }) => {
        const trace = await paymentTraceCommand(ctx, paymentId, options);
        print(g, trace, () => renderPaymentTrace(trace));
      }),
    );

  program
    .command('supervisor')
    .description('supervisor credentials (主管密码)')
    .command('hash')
    .description('a salted scrypt hash of the credential on standard input, for SUPERVISOR_CREDENTIALS (needs no broker)')
    .option('--merchant <id>', 'print the whole entry merchant/operator:hash (with --operator)')
    .option('--operator <id>', "the supervisor's operator id (with --merchant)")
    .action(async (options: SupervisorHashOptions) => {
      io.out(await supervisorHashCommand((await io.readInput?.()) ?? '', options));
      setExit(ExitCode.ok);
    });

  program
    .command('db')
    .description('PostgreSQL roles of the services')
    .command('provision')
    .description("a service's schema with its owner and runtime roles (ADR 0007), as a database administrator; idempotent (needs no broker)")
    .requiredOption('--schema <name>', "the service's schema (its DATABASE_SCHEMA)")
    .requiredOption('--owner <role>', 'the role that owns the schema and runs the migrations (DATABASE_MIGRATION_URL)')
    .requiredOption('--runtime <role>', 'the role the service runs as (DATABASE_URL)')
    .addOption(new Option('--admin-url <url>', "a database administrator's connection string (prefer the environment variable)").env('DATABASE_ADMIN_URL'))
    .addOption(new Option('--owner-password <password>', "the owner's password (prefer the environment variable)").env('DATABASE_OWNER_PASSWORD'))
    .addOption(new Option('--runtime-password <password>', "the runtime role's password (prefer the environment variable)").env('DATABASE_RUNTIME_PASSWORD'))
    .action(async (options: DbProvisionOptions) => {
      io.out(await dbProvisionCommand(options));
      setExit(ExitCode.ok);
    });

  const kafka = program.command('kafka').description("a broker of one's own: its credentials, topics and ACLs");
  kafka
    .command('credentials <dir>')
    .description('a CA, the broker\'s key store and a SCRAM password per principal into <dir>, once (kept if there; needs no broker)')
    .option('--hosts <names>', 'names and addresses clients reach the broker by (its certificate\'s)', 'kafka,localhost,127.0.0.1')
    .option('--days <n>', 'validity of the CA and the certificates', '825')
    .action(async (dir: string, options: KafkaCredentialsOptions, command: Command) => {
      const report = await kafkaCredentialsCommand(dir, options);
      print(command.optsWithGlobals<GlobalOptions>(), report, () => renderKafkaCredentials(report));
      setExit(ExitCode.ok);
    });
  kafka
    .command('setup')
    .description("as the broker's admin: the contracts' missing topics, and the ACLs of kafkaGrants (safe to repeat)")
    .option('--partitions <n>', 'partitions of the topics it creates', '6')
    .action(async (options: { partitions: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const connection = brokerConnection(globals);
      const report = await kafkaSetupCommand(connection, options.partitions).catch((error: unknown) => {
        if (!isBrokerUnreachable(error)) throw error;
        throw new CliError(ExitCode.brokerUnreachable, `cannot set up Kafka at ${connection.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`, 'check --brokers and the admin\'s --sasl-* credentials');
      });
      print(globals, report, () => renderKafkaSetup(report));
      setExit(ExitCode.ok);
    });

  return program;
}

/** Resolves with the exit code of the signal that aborts `signal`; never, without one. */
function interruption(signal: AbortSignal | undefined): Promise<ExitCode> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve(exitCodeOnSignal(signal.reason));
    else signal.addEventListener('abort', () => resolve(exitCodeOnSignal(signal.reason)), { once: true });
  });
}

/**
 * Connects, runs one command and disconnects, within `--timeout` while the cluster does not answer.
 * A signal ends the command at once: a follower (`follows`) with `ok`, anything else with 130/143.
 * Whatever the command still has in flight then is left to the process's exit.
 */
async function withBroker(globals: GlobalOptions, io: CliIo, follows: boolean, work: (ctx: OpsContext) => Promise<void>): Promise<ExitCode> {
  Logger.overrideLogger(stderrLogger(io, !!globals.verbose));
  if (!/^[0-9]{1,7}$/.test(globals.timeout)) throw usageError(`--timeout ${globals.timeout} is not a number of milliseconds`);
  const timeoutMs = Number(globals.timeout);
  const connection = brokerConnection(globals);
  const broker: MessageBroker = new NamespacedBroker(new KafkajsBroker(connection), globals.topicPrefix);
  let connected = false;
  const command = (async (): Promise<ExitCode> => {
    try {
      await broker.ping(timeoutMs);
    } catch (error) {
      throw new CliError(
        ExitCode.brokerUnreachable,
        `cannot reach Kafka at ${connection.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
        'check --brokers (or KAFKA_BROKERS), and --ssl / --sasl-* if the cluster needs them',
      );
    }
    connected = true;
    await work(opsContext(broker));
    return ExitCode.ok;
  })();
  // Once interrupted, nobody awaits the command any more; its late failure must not end the process.
  command.catch(() => undefined);
  try {
    return await Promise.race([command, interruption(io.signal).then((code) => (follows ? ExitCode.ok : code))]);
  } finally {
    const closing = broker.close().catch(() => undefined);
    // A client still retrying its first connection only disconnects once kafkajs gives up on it
    // (about 20 s with the adapter's retries): only a connected one is worth waiting for, and not
    // longer than the cluster is given to answer.
    if (connected) await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }
}

/** Runs one command line; resolves to the exit code and never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end through here too, with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CliError) {
      io.err(`error: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}`);
      return error.exitCode;
    }
    if (isBrokerUnreachable(error)) {
      io.err(`error: lost the connection to Kafka: ${error instanceof Error ? error.message : String(error)}`);
      return ExitCode.brokerUnreachable;
    }
    io.err(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return ExitCode.failure;
  }
}
