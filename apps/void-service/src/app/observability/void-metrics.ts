import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Metric } from 'prom-client';
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

  constructor(metrics: ServiceMetrics) {
    const families: Metric<string>[] = [this.decisions, this.replays, this.latency, this.gateClosings, this.violations, this.supervisorChecks, this.supervisorLockouts];
    for (const family of families) metrics.registry.registerMetric(family);
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

  invariantViolation(): void {
    this.violations.inc();
  }
}
