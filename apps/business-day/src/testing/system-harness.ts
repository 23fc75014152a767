import { hashApiKey, hashCredential } from '@pos/service-runtime';
import { ServiceName, spawnService, SpawnedService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, kafkaEnvOf, testStack, uniqueName } from '@pos/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { KafkajsBroker, MessageBroker, NamespacedBroker } from '@pos/messaging';
import { ScheduleVersion } from '../app/expected-clearing';
import { DayOperator } from '../app/operator';
import { DayPlan } from '../app/plan';
import { Progress } from '../app/progress';
import { DayRun } from '../app/run-day';
import { DEMO_SUPERVISOR, DemoCredentials, randomDemoCredentials } from '../app/demo-credentials';
import { StackClient } from '../app/stack-client';

/**
 * The whole system for a system test: every service as its own process (the production bundle),
 * several instances each when asked, on the run's shared Kafka and PostgreSQL, isolated from other
 * tests by a topic prefix and its own schemas.
 */
export class SystemUnderTest {
  readonly prefix = `${uniqueName('system')}.`;
  private readonly schemas: Record<ServiceName, string> = {
    'payment-service': uniqueName('payment'),
    'clearing-service': uniqueName('clearing'),
    'void-service': uniqueName('voids'),
  };
  readonly instances: Record<ServiceName, SpawnedService[]> = { 'payment-service': [], 'clearing-service': [], 'void-service': [] };
  /** Where the clearing instances write reconciliation files, and where the day's checks read them. */
  readonly reconciliationDir = resolve('tmp', 'reconciliation', this.prefix);

  /** Clearing's `CUTOFF_SCHEDULE_*`: the versions published so far (a cutoff change appends one). */
  private clearingSchedule: string;
  /** This system's own random demo credentials; its services get their hashes. */
  private readonly credentials: DemoCredentials;
  /** Two operators of the clearing API with random tokens: one asks for a money event's replay, the other approves it. */
  private readonly operatorTokens = { 'day-operator': randomBytes(24).toString('base64url'), 'day-approver': randomBytes(24).toString('base64url') };

  constructor(
    private readonly cutoffSchedule: string,
    private readonly merchants: readonly string[],
  ) {
    this.clearingSchedule = cutoffSchedule;
    this.credentials = randomDemoCredentials(merchants);
  }

  /** Salted scrypt hashes take a moment each: made once per harness. */
  private supervisorCredentials?: Promise<string>;

  private async env(name: ServiceName): Promise<Record<string, string>> {
    const stack = testStack();
    this.supervisorCredentials ??= Promise.all(
      this.merchants.map(async (m) => `${m}/${DEMO_SUPERVISOR}:${await hashCredential(this.credentials.supervisorCredentials.get(m) ?? '')}`),
    ).then((entries) => entries.join(','));
    return {
      ...(await stackEnv(stack, this.schemas[name], this.prefix)),
      KAFKA_TOPIC_PARTITIONS: '3',
      CUTOFF_SCHEDULE_WECHAT: name === 'clearing-service' ? this.clearingSchedule : this.cutoffSchedule,
      CUTOFF_SCHEDULE_ALIPAY: name === 'clearing-service' ? this.clearingSchedule : this.cutoffSchedule,
      CUTOFF_SCHEDULE_UNIONPAY_CARD: name === 'clearing-service' ? this.clearingSchedule : this.cutoffSchedule,
      VOID_WINDOW_ALIPAY: `until:${this.cutoffSchedule}`,
      VOID_WINDOW_UNIONPAY_CARD: `until:${this.cutoffSchedule}`,
      MERCHANT_API_KEYS: this.merchants.map((m) => `${m}:${hashApiKey(this.credentials.apiKeys.get(m) ?? '')}`).join(','),
      SUPERVISOR_CREDENTIALS: await this.supervisorCredentials,
      OPERATOR_TOKENS: `day-operator:operator:${hashApiKey(this.operatorTokens['day-operator'])},day-approver:approver:${hashApiKey(this.operatorTokens['day-approver'])}`,
      CLEARING_TICK_MS: '100',
      RECONCILIATION_DIR: this.reconciliationDir,
    };
  }

  /** Starts an instance; `env` adds to or overrides the system's settings (e.g. an ADMIN_PORT). */
  async start(name: ServiceName, env: Record<string, string> = {}): Promise<SpawnedService> {
    const instance = await spawnService(name, { ...(await this.env(name)), ...env });
    this.instances[name].push(instance);
    return instance;
  }

  /** Crashes an instance (SIGKILL) and starts a new one in its place. */
  async crashAndRestart(name: ServiceName, index: number): Promise<void> {
    const [victim] = this.instances[name].splice(index, 1);
    await victim.kill();
    await this.start(name);
  }

  urls(name: ServiceName): string[] {
    return this.instances[name].map((i) => i.url);
  }

  /** A broker client that sees this system's topics (close it after use). */
  broker(): MessageBroker {
    return new NamespacedBroker(new KafkajsBroker(kafkaClientOf(testStack(), uniqueName('system-test'))), this.prefix);
  }

  /**
   * The runbook's cutoff change (docs/operations.md, "Changing a cutoff"): the version appended to
   * clearing's setting, a new instance started with it (it stores the version), then every older
   * instance stopped, so clearing runs on throughout.
   */
  private async publishScheduleVersion(version: ScheduleVersion): Promise<void> {
    if (version.effectiveFrom === undefined) throw new Error('a later schedule version needs its effective instant');
    this.clearingSchedule = `${this.clearingSchedule}; every:${version.periodMs / 1000}s from ${new Date(version.effectiveFrom).toISOString()}`;
    const older = [...this.instances['clearing-service']];
    await this.start('clearing-service');
    for (const instance of older) {
      this.instances['clearing-service'].splice(this.instances['clearing-service'].indexOf(instance), 1);
      await instance.stop();
    }
  }

  private signalClearing(signal: 'SIGSTOP' | 'SIGCONT'): void {
    for (const instance of this.instances['clearing-service']) process.kill(instance.pid, signal);
  }

  /** SQL in the clearing instances' schema, as a fault only a test may cause. */
  private async clearingSql(sql: string): Promise<void> {
    const client = new Client({ connectionString: testStack().postgresUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${this.schemas['clearing-service']}"`);
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** The built operator CLI with these arguments, as one operator (its token) on this system's broker and clearing API. */
  private ops(operator: keyof SystemUnderTest['operatorTokens'], args: readonly string[]): Promise<string> {
    const env = {
      PATH: process.env['PATH'] ?? '',
      ...kafkaEnvOf(testStack()),
      KAFKA_TOPIC_PREFIX: this.prefix,
      CLEARING_URL: this.urls('clearing-service')[0],
      OPS_OPERATOR_TOKEN: this.operatorTokens[operator],
    };
    return new Promise((resolvePromise, reject) => {
      execFile(process.execPath, [join(process.cwd(), 'dist', 'apps', 'ops-cli', 'main.js'), ...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`ops ${args.join(' ')}: ${String(error)}\n${stderr}`)) : resolvePromise(stdout),
      );
    });
  }

  /**
   * "Dead letters: inspect and replay" with four eyes (a parked void moves money): one operator asks
   * for the replay, another approves it, then the first replays it with the approval.
   */
  private async replayDeadLetter(topic: string, position: string): Promise<string> {
    const requested = JSON.parse(
      await this.ops('day-operator', ['--json', 'approvals', 'request-replay', topic, position, '--reason', 'business day: the refused write was fixed']),
    ) as { approvalId: string };
    const approved = await this.ops('day-approver', ['approvals', 'approve', requested.approvalId]);
    const replayed = await this.ops('day-operator', ['dlq', 'replay', topic, position, '--approval', requested.approvalId]);
    return `${approved.trim()}\n${replayed}`;
  }

  /** The operator's procedures, and the faults that call for them, on this system. */
  operator(): DayOperator {
    return {
      publishScheduleVersion: (version) => this.publishScheduleVersion(version),
      holdClearing: async () => this.signalClearing('SIGSTOP'),
      releaseClearing: async () => this.signalClearing('SIGCONT'),
      refuseVoidWrites: async (paymentId) => {
        if (!/^[0-9a-f-]{36}$/.test(paymentId)) throw new Error(`not a payment id: ${paymentId}`);
        await this.clearingSql(`CREATE FUNCTION refuse_void_of_day() RETURNS trigger LANGUAGE plpgsql AS $$
                                  BEGIN IF NEW.payment_id = '${paymentId}' THEN RAISE EXCEPTION 'voided_payments refuses %', NEW.payment_id; END IF; RETURN NEW; END $$;
                                CREATE TRIGGER refuse_void_of_day BEFORE INSERT ON voided_payments FOR EACH ROW EXECUTE FUNCTION refuse_void_of_day()`);
      },
      allowVoidWrites: () => this.clearingSql(`DROP TRIGGER IF EXISTS refuse_void_of_day ON voided_payments; DROP FUNCTION IF EXISTS refuse_void_of_day()`),
      replayDeadLetter: (topic, position) => this.replayDeadLetter(topic, position),
    };
  }

  /** The driver `npm start` runs, pointed at this system's instances (round-robin, current ones). */
  dayRun(plan: DayPlan, broker: MessageBroker): DayRun {
    return new DayRun(plan, {
      client: new StackClient(() => ({
        paymentUrl: this.urls('payment-service'),
        voidUrl: this.urls('void-service'),
        clearingUrl: this.urls('clearing-service'),
      }), this.credentials),
      broker,
      progress: new Progress(),
      reconciliationDir: this.reconciliationDir,
      operator: this.operator(),
    });
  }

  async stop(): Promise<void> {
    // An instance held still ends only once it runs again.
    this.signalClearing('SIGCONT');
    await Promise.all(Object.values(this.instances).flat().map((i) => i.stop()));
  }
}
