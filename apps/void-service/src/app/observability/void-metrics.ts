import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram, Metric } from 'prom-client';
import { DataSource } from 'typeorm';
import type { UndoOutcome } from '@pos/channel-simulator';
import { ServiceMetrics } from '@pos/observability';
import type { DecisionOutcome, DecisionSource } from '../decisions/void-decisions';

/** The void service's own families, in the instance's registry next to the ones every service has. */
@Injectable()
export class VoidMetrics {
  private readonly decisions = new Counter({
    name: 'pos_void_decisions_total',
    help: 'Void decisions taken (replays of a stored decision not counted), by channel, decision and reason',
    labelNames: ['channel', 'decision', 'reason', 'source'] as const,
    registers: [],
  });
  private readonly replays = new Counter({
    name: 'pos_void_decision_replays_total',
    help: 'Requests answered with a stored decision (same idempotency key and payload)',
    labelNames: ['source'] as const,
    registers: [],
  });
  private readonly latency = new Histogram({
    name: 'pos_void_decision_duration_seconds',
    help: 'Time from request in to decision committed with its events in the outbox',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  });
  private readonly gateClosings = new Counter({
    name: 'pos_void_gates_closed_total',
    help: 'Batch gates closed on a batch.closing, by reason',
    labelNames: ['reason'] as const,
    registers: [],
  });
  private readonly violations = new Counter({
    name: 'pos_void_invariant_violations_total',
    help: 'Payments reported cleared although a void of them was accepted (must stay 0)',
    registers: [],
  });

  private readonly supervisorChecks = new Counter({
    name: 'pos_void_supervisor_checks_total',
    help: 'Supervisor credentials checked, by verdict (VERIFIED, INVALID, LOCKED: refused because the supervisor is locked)',
    labelNames: ['verdict'] as const,
    registers: [],
  });
  private readonly supervisorLockouts = new Counter({
    name: 'pos_void_supervisor_lockouts_total',
    help: 'Supervisors locked after repeated wrong credentials',
    registers: [],
  });

  private readonly channelCalls = new Counter({
    name: 'pos_void_channel_calls_total',
    help: 'Undo calls made to the channels for accepted voids (ADR 0008), by channel and answer (SUCCESS, TRY_AGAIN, TIMEOUT, REFUSED)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [],
  });
  private readonly executions = new Counter({
    name: 'pos_void_executions_total',
    help: 'Executions of accepted voids made final by this instance, by channel and state (EXECUTED, CHANNEL_REFUSED)',
    labelNames: ['channel', 'state'] as const,
    registers: [],
  });

  constructor(metrics: ServiceMetrics, @InjectDataSource() dataSource: DataSource) {
    const families: Metric<string>[] = [
      this.decisions,
      this.replays,
      this.latency,
      this.gateClosings,
      this.violations,
      this.supervisorChecks,
      this.supervisorLockouts,
      this.channelCalls,
      this.executions,
    ];
    for (const family of families) metrics.registry.registerMetric(family);
    // Read from the database at each scrape, as every instance sees the same executions.
    const registers = [metrics.registry];
    new Gauge({
      name: 'pos_void_executions_pending',
      help: 'Accepted voids whose channel has not given a final answer yet (ADR 0008)',
      registers,
      async collect() {
        const [row]: { pending: number }[] = await dataSource.query(`SELECT count(*)::int AS pending FROM void_executions WHERE state = 'PENDING'`);
        this.set(row.pending);
      },
    });
    new Gauge({
      name: 'pos_void_gates_awaiting_executions',
      help: 'Batches whose gate closed but whose gate-closed waits for void executions at the channel: they stay CLOSING in clearing; alert when one stays',
      registers,
      async collect() {
        const [row]: { waiting: number }[] = await dataSource.query(
          `SELECT count(*)::int AS waiting FROM void_gates WHERE status = 'CLOSED' AND announced_at IS NULL`,
        );
        this.set(row.waiting);
      },
    });
  }

  decided(outcome: DecisionOutcome, source: DecisionSource, startedNs: bigint): void {
    this.latency.observe({ source }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    if (outcome.replayed) {
      this.replays.inc({ source });
      return;
    }
    const { view } = outcome;
    this.decisions.inc({ channel: view.channel ?? 'UNKNOWN', decision: view.decision, reason: view.reason ?? 'NONE', source });
  }

  gateClosed(reason: string): void {
    this.gateClosings.inc({ reason });
  }

  supervisorChecked(verdict: 'VERIFIED' | 'INVALID' | 'LOCKED'): void {
    this.supervisorChecks.inc({ verdict });
  }

  supervisorLocked(): void {
    this.supervisorLockouts.inc();
  }

  channelCalled(channel: string, outcome: UndoOutcome): void {
    this.channelCalls.inc({ channel, outcome: outcome.kind });
  }

  executionFinished(channel: string, state: 'EXECUTED' | 'CHANNEL_REFUSED'): void {
    this.executions.inc({ channel, state });
  }

  invariantViolation(): void {
    this.violations.inc();
  }
}
