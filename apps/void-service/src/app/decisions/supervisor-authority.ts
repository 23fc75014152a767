import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
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

/** What a supervisor authorises: one void of one payment (by id, order number or both) on one terminal. */
export interface AuthorisationScope {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly paymentId?: string;
  readonly outTradeNo?: string;
}

export interface SupervisorAuthorisation extends AuthorisationScope {
  readonly authorisationId: string;
  readonly operatorId: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

/** The supervisor behind a void: checked now (credential) or earlier (authorisation). */
export interface SupervisorProof {
  readonly check: 'VERIFIED' | 'MISSING' | 'INVALID' | 'LOCKED';
  readonly operatorId?: string;
  readonly authorisationId?: string;
}

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

  /**
   * Checks the credential (with the lockout) and, if it is right, issues an authorisation of one
   * void in `scope`, valid for SUPERVISOR_AUTHORISATION_TTL.
   */
  async issue(scope: AuthorisationScope, supervisor: { readonly operatorId: string; readonly credential: string }): Promise<SupervisorAuthorisation | 'INVALID' | 'LOCKED'> {
    const verdict = await this.check(scope.merchantId, supervisor);
    if (verdict !== 'VERIFIED') return verdict;
    const issuedAt = this.clock.now();
    const expiresAt = new Date(issuedAt.getTime() + this.settings.supervisorAuthorisationTtlMs);
    const authorisationId = randomUUID();
    await queryPrepared(
      this.dataSource.manager,
      `INSERT INTO supervisor_authorisations (authorisation_id, merchant_id, terminal_id, operator_id, payment_id, out_trade_no, issued_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [authorisationId, scope.merchantId, scope.terminalId, supervisor.operatorId, scope.paymentId ?? null, scope.outTradeNo ?? null, issuedAt, expiresAt],
    );
    await this.audit.record(this.dataSource.manager, {
      at: issuedAt,
      actor: `${scope.merchantId}/${supervisor.operatorId}`,
      role: 'supervisor',
      action: 'supervisor.authorisation-issued',
      target: scope.paymentId ?? scope.outTradeNo ?? null,
      outcome: 'SUCCEEDED',
      details: { authorisationId, terminalId: scope.terminalId, expiresAt: expiresAt.toISOString() },
    });
    return {
      authorisationId,
      merchantId: scope.merchantId,
      terminalId: scope.terminalId,
      operatorId: supervisor.operatorId,
      ...(scope.paymentId ? { paymentId: scope.paymentId } : {}),
      ...(scope.outTradeNo ? { outTradeNo: scope.outTradeNo } : {}),
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
    };
  }

  /**
   * An authorisation named by a void: VERIFIED if it was issued to this merchant for this terminal
   * and this payment (every reference it was issued with matches), has not expired at `now` and has
   * authorised no other void; INVALID otherwise, whatever the reason (nothing to learn from it).
   */
  async redeem(
    db: EntityManager,
    authorisationId: string,
    scope: AuthorisationScope & { readonly paymentId: string; readonly outTradeNo: string },
    now: Date,
  ): Promise<SupervisorProof> {
    const [row] = await queryPrepared<{ operator_id: string }>(
      db,
      `SELECT operator_id FROM supervisor_authorisations
        WHERE authorisation_id = $1 AND merchant_id = $2 AND terminal_id = $3
          AND (payment_id IS NULL OR payment_id = $4) AND (out_trade_no IS NULL OR out_trade_no = $5)
          AND expires_at > $6 AND used_by_void IS NULL`,
      [authorisationId, scope.merchantId, scope.terminalId, scope.paymentId, scope.outTradeNo, now],
    );
    return row ? { check: 'VERIFIED', operatorId: row.operator_id, authorisationId } : { check: 'INVALID', authorisationId };
  }

  /**
   * A supervisor-authorised void, in the audit trail, and its authorisation used up; with the
   * decision's transaction when it has one.
   */
  async authorised(
    db: EntityManager,
    entry: { merchantId: string; operatorId: string; voidId: string; paymentId: string; terminalId: string; source: string; authorisationId?: string },
  ): Promise<void> {
    const at = this.clock.now();
    if (entry.authorisationId) {
      await queryPrepared(db, `UPDATE supervisor_authorisations SET used_by_void = $2, used_at = $3 WHERE authorisation_id = $1 AND used_by_void IS NULL`, [
        entry.authorisationId,
        entry.voidId,
        at,
      ]);
    }
    await this.audit.record(db, {
      at,
      actor: `${entry.merchantId}/${entry.operatorId}`,
      role: 'supervisor',
      action: 'void.supervisor-authorised',
      target: entry.paymentId,
      outcome: 'SUCCEEDED',
      details: { voidId: entry.voidId, terminalId: entry.terminalId, source: entry.source, ...(entry.authorisationId ? { authorisationId: entry.authorisationId } : {}) },
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
