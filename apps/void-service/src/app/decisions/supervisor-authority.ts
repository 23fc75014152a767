import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditTrail } from '@pos/audit';
import { Clock } from '@pos/business-calendar';
import { CLOCK } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { VoidMetrics } from '../observability/void-metrics';
import { checkSupervisor, VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';

export type SupervisorVerdict = 'VERIFIED' | 'INVALID' | 'LOCKED';

/**
 * Checks supervisors' credentials (主管密码) and locks a supervisor after repeated wrong ones: after
 * `failures` wrong credentials within `window` (counted from the end of its last lock), the
 * supervisor is locked for `duration`, and while locked even its correct credential is refused.
 * The counts are in the void service's database, so every instance sees the same ones; one
 * supervisor's failures are counted one at a time (an advisory lock), so concurrent wrong
 * credentials on several instances lock it at exactly the N-th. Locks, refusals and
 * supervisor-authorised voids go to the audit trail; the credential itself never goes anywhere.
 */
@Injectable()
export class SupervisorAuthority {
  private readonly logger = new Logger('SupervisorAuthority');
  private readonly audit = new AuditTrail();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
    private readonly metrics: VoidMetrics,
  ) {}

  async check(merchantId: string, supervisor: { readonly operatorId: string; readonly credential: string }): Promise<SupervisorVerdict> {
    const { operatorId } = supervisor;
    // A locked supervisor's credential is not even hashed: nothing about it is learnt while locked.
    const [lock] = await queryPrepared<{ locked_until: Date }>(
      this.dataSource.manager,
      `SELECT locked_until FROM supervisor_lockouts WHERE merchant_id = $1 AND operator_id = $2 AND locked_until > $3 ORDER BY locked_until DESC LIMIT 1`,
      [merchantId, operatorId, this.clock.now()],
    );
    if (lock) return this.refused(merchantId, operatorId, 'LOCKED', { lockedUntil: lock.locked_until.toISOString() });
    const verdict = await checkSupervisor(this.settings.supervisorCredentials, merchantId, supervisor);
    if (verdict === 'VERIFIED') {
      this.metrics.supervisorChecked('VERIFIED');
      return verdict;
    }
    return this.countFailure(merchantId, operatorId);
  }

  /** A supervisor-authorised void, in the audit trail; with the decision's transaction when it has one. */
  async authorised(db: EntityManager, entry: { merchantId: string; operatorId: string; voidId: string; paymentId: string; terminalId: string; source: string }): Promise<void> {
    await this.audit.record(db, {
      at: this.clock.now(),
      actor: `${entry.merchantId}/${entry.operatorId}`,
      role: 'supervisor',
      action: 'void.supervisor-authorised',
      target: entry.paymentId,
      outcome: 'SUCCEEDED',
      details: { voidId: entry.voidId, terminalId: entry.terminalId, source: entry.source },
    });
  }

  private async countFailure(merchantId: string, operatorId: string): Promise<SupervisorVerdict> {
    const { failures, windowMs, durationMs } = this.settings.supervisorLockout;
    const locked = await this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('supervisor-failures'), hashtext($1))`, [`${merchantId}/${operatorId}`]);
      // Read under the advisory lock: a failure counted by another instance meanwhile is seen.
      const now = this.clock.now();
      const [counted] = await queryPrepared<{ failures: number; locked_until: Date | null }>(
        tx,
        `WITH failed AS (INSERT INTO supervisor_failures (merchant_id, operator_id, failed_at) VALUES ($1, $2, $3))
         SELECT 1 + (SELECT count(*)::int FROM supervisor_failures f
                      WHERE f.merchant_id = $1 AND f.operator_id = $2 AND f.failed_at > $4
                        AND f.failed_at >= COALESCE((SELECT max(l.locked_until) FROM supervisor_lockouts l
                                                      WHERE l.merchant_id = $1 AND l.operator_id = $2 AND l.locked_until <= $3), '-infinity')) AS failures,
                (SELECT max(locked_until) FROM supervisor_lockouts l WHERE l.merchant_id = $1 AND l.operator_id = $2 AND l.locked_until > $3) AS locked_until`,
        [merchantId, operatorId, now, new Date(now.getTime() - windowMs)],
      );
      if (counted.locked_until) return { lockedUntil: counted.locked_until, lockedNow: false, failures: counted.failures };
      if (counted.failures < failures) return undefined;
      const lockedUntil = new Date(now.getTime() + durationMs);
      await queryPrepared(
        tx,
        `INSERT INTO supervisor_lockouts (merchant_id, operator_id, locked_at, locked_until, failures) VALUES ($1, $2, $3, $4, $5)`,
        [merchantId, operatorId, now, lockedUntil, counted.failures],
      );
      await this.audit.record(tx, {
        at: now,
        actor: `${merchantId}/${operatorId}`,
        role: 'supervisor',
        action: 'supervisor.locked',
        outcome: 'REFUSED',
        details: { failures: counted.failures, lockedUntil: lockedUntil.toISOString() },
      });
      return { lockedUntil, lockedNow: true, failures: counted.failures };
    });
    if (!locked) return this.refused(merchantId, operatorId, 'INVALID', {});
    if (locked.lockedNow) {
      this.metrics.supervisorLocked();
      this.logger.warn(`supervisor ${merchantId}/${operatorId} locked until ${locked.lockedUntil.toISOString()} after ${locked.failures} wrong credentials`);
    }
    return this.refused(merchantId, operatorId, 'LOCKED', { lockedUntil: locked.lockedUntil.toISOString() });
  }

  private async refused(merchantId: string, operatorId: string, verdict: 'INVALID' | 'LOCKED', details: Record<string, unknown>): Promise<SupervisorVerdict> {
    this.metrics.supervisorChecked(verdict);
    await this.audit.record(this.dataSource.manager, {
      at: this.clock.now(),
      actor: `${merchantId}/${operatorId}`,
      role: 'supervisor',
      action: 'supervisor.credential-refused',
      outcome: 'REFUSED',
      details: { reason: verdict === 'LOCKED' ? 'SUPERVISOR_LOCKED' : 'WRONG_CREDENTIAL', ...details },
    });
    return verdict;
  }
}
