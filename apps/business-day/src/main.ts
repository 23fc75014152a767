import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { KafkajsBroker } from '@pos/messaging';
import { addKafkaSecurityIssues, kafkaConnectionOf, kafkaSecurityShape, loadConfig } from '@pos/service-runtime';
import { planDay } from './app/plan';
import { Progress } from './app/progress';
import { writeReport } from './app/report';
import { DayRun } from './app/run-day';
import { loadDemoCredentials } from './app/demo-credentials';
import { StackClient } from './app/stack-client';

const positive = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}`);
  return n;
};

const program = new Command('business-day')
  .description('Drives a compressed business day through the running stack and reports on it')
  .option('--merchants <n>', 'merchants (each with two wallet POS and one card POS)', positive('merchants', 50), 4)
  .option('--payments <n>', 'payments in the day', positive('payments', 20_000), 240)
  .option('--seed <n>', 'scenario seed: the same seed plans the same day', positive('seed', 2 ** 31 - 1), 20261127)
  .option('--period <seconds>', "cutoff period of the stack's schedule (CUTOFF_SCHEDULE_*=every:<n>s)", positive('period', 3600), 30)
  .option('--payment-url <url>', 'payment service', 'http://localhost:3001')
  .option('--void-url <url>', 'void service', 'http://localhost:3003')
  .option('--clearing-url <url>', 'clearing service', 'http://localhost:3002')
  .option('--brokers <list>', 'Kafka bootstrap servers', process.env['KAFKA_BROKERS'] ?? 'localhost:19092')
  .option('--out <dir>', 'where the report goes', 'out/business-day')
  .option('--reconciliation-dir <dir>', 'where the clearing service writes reconciliation files; the checks read them there', 'out/reconciliation');

/**
 * The day reads as KAFKA_SASL_USERNAME (the operator principal, on a broker with ACLs) and sends
 * its commands as KAFKA_COMMANDS_SASL_USERNAME (an upstream system's principal) when that is set,
 * with the same mechanism and TLS.
 */
const daySecurity = z
  .object({
    ...kafkaSecurityShape,
    KAFKA_COMMANDS_SASL_USERNAME: z.string().min(1).optional(),
    KAFKA_COMMANDS_SASL_PASSWORD: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    addKafkaSecurityIssues(config, ctx);
    if ((config.KAFKA_COMMANDS_SASL_USERNAME === undefined) !== (config.KAFKA_COMMANDS_SASL_PASSWORD === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_COMMANDS_SASL_USERNAME'], message: 'KAFKA_COMMANDS_SASL_USERNAME and KAFKA_COMMANDS_SASL_PASSWORD are set together or not at all' });
    }
    if (config.KAFKA_COMMANDS_SASL_USERNAME !== undefined && config.KAFKA_SASL_MECHANISM === undefined) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_COMMANDS_SASL_USERNAME'], message: 'KAFKA_COMMANDS_SASL_* needs KAFKA_SASL_MECHANISM (and the reader\'s KAFKA_SASL_*)' });
    }
  });

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{
    merchants: number;
    payments: number;
    seed: number;
    period: number;
    paymentUrl: string;
    voidUrl: string;
    clearingUrl: string;
    brokers: string;
    out: string;
    reconciliationDir: string;
  }>();
  const plan = planDay({ seed: options.seed, merchants: options.merchants, payments: options.payments, periodMs: options.period * 1000 });
  // TLS and SASL as the services take them (KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_*), checked before anything runs.
  const security = loadConfig(daySecurity, process.env);
  const brokers = options.brokers.split(',');
  const broker = new KafkajsBroker(kafkaConnectionOf(security, 'business-day-driver', brokers));
  const { KAFKA_COMMANDS_SASL_USERNAME: commandsUser, KAFKA_COMMANDS_SASL_PASSWORD: commandsPassword } = security;
  const commands =
    commandsUser !== undefined && commandsPassword !== undefined
      ? new KafkajsBroker(kafkaConnectionOf({ ...security, KAFKA_SASL_USERNAME: commandsUser, KAFKA_SASL_PASSWORD: commandsPassword }, 'business-day-commands', brokers))
      : undefined;
  const progress = new Progress();
  progress.start();
  try {
    const report = await new DayRun(plan, {
      client: new StackClient(() => ({ paymentUrl: options.paymentUrl, voidUrl: options.voidUrl, clearingUrl: options.clearingUrl }), loadDemoCredentials()),
      broker,
      ...(commands ? { commands } : {}),
      progress,
      reconciliationDir: resolve(options.reconciliationDir),
    }).run();
    progress.stop();
    const { text, textPath, htmlPath } = writeReport(resolve(options.out, new Date(report.startedAt).toISOString().replace(/[:.]/g, '-')), report);
    process.stdout.write(`${text}\n\nReport: ${textPath}\n        ${htmlPath} (with the timeline)\n`);
    process.exitCode = report.invariants.every((i) => i.passed) ? 0 : 1;
  } finally {
    progress.stop();
    await Promise.all([broker.close(), commands?.close()]);
  }
}

main().catch((error: unknown) => {
  console.error(`business-day: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
