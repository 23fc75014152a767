import { hashApiKey } from '@pos/service-runtime';
import { ServiceName, spawnService, SpawnedService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { KafkajsBroker, MessageBroker, NamespacedBroker } from '@pos/messaging';
import { DayPlan } from '../app/plan';
import { Progress } from '../app/progress';
import { DayRun } from '../app/run-day';
import { demoApiKey, demoSupervisorCredential, DEMO_SUPERVISOR, StackClient } from '../app/stack-client';

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

  constructor(
    private readonly cutoffSchedule: string,
    private readonly merchants: readonly string[],
  ) {}

  private env(name: ServiceName): Record<string, string> {
    const stack = testStack();
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    return {
      ...stackEnv(stack, this.schemas[name], this.prefix),
      KAFKA_TOPIC_PARTITIONS: '3',
      CUTOFF_SCHEDULE_WECHAT: this.cutoffSchedule,
      CUTOFF_SCHEDULE_ALIPAY: this.cutoffSchedule,
      CUTOFF_SCHEDULE_UNIONPAY_CARD: this.cutoffSchedule,
      VOID_WINDOW_ALIPAY: `until:${this.cutoffSchedule}`,
      VOID_WINDOW_UNIONPAY_CARD: `until:${this.cutoffSchedule}`,
      MERCHANT_API_KEYS: this.merchants.map((m) => `${m}:${hashApiKey(demoApiKey(m))}`).join(','),
      SUPERVISOR_CREDENTIALS: this.merchants.map((m) => `${m}/${DEMO_SUPERVISOR}:${sha(demoSupervisorCredential(m))}`).join(','),
      CLEARING_TICK_MS: '100',
      RECONCILIATION_DIR: this.reconciliationDir,
    };
  }

  async start(name: ServiceName): Promise<SpawnedService> {
    const instance = await spawnService(name, this.env(name));
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

  /** The driver `npm start` runs, pointed at this system's instances (round-robin, current ones). */
  dayRun(plan: DayPlan, broker: MessageBroker): DayRun {
    return new DayRun(plan, {
      client: new StackClient(() => ({
        paymentUrl: this.urls('payment-service'),
        voidUrl: this.urls('void-service'),
        clearingUrl: this.urls('clearing-service'),
      })),
      broker,
      progress: new Progress(),
      reconciliationDir: this.reconciliationDir,
    });
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.instances).flat().map((i) => i.stop()));
  }
}
