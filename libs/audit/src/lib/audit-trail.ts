import { EntityManager } from 'typeorm';
import { formatShanghai } from '@pos/business-calendar';

export const AUDIT_OUTCOMES = ['SUCCEEDED', 'REFUSED', 'FAILED'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One action of an operator, a merchant, a terminal or a supervisor, as it is recorded. */
export interface AuditEntry {
  /** When it happened (the service's clock). */
  readonly at: Date;
  /** Who: an operator's name, a merchant id, a supervisor id. */
  readonly actor: string;
  /** In which capacity: `viewer`, `operator`, `approver`, `merchant`, `terminal`, `supervisor`. */
  readonly role: string;
  /** What, as `noun.verb`: `terminal-settlement.requested`, `approval.approved`, `void.pin-refused`. */
  readonly action: string;
  /** On what: a batch id, a terminal (`M100/T1`), an approval id; null when the action has none. */
  readonly target?: string | null;
  readonly outcome: AuditOutcome;
  /** Where the request came from (the peer's address as the service saw it); null for actions from Kafka. */
  readonly remoteAddress?: string | null;
  /** Anything else worth keeping (a JSON object). Never a secret: no PIN, no key, no token. */
  readonly details?: Record<string, unknown>;
}

export interface AuditRecord {
  /** Increasing in the order the rows were written; the cursor of the next page (`before`). */
  readonly id: string;
  /** UTC, RFC 3339. */
  readonly at: string;
  /** The same instant in Asia/Shanghai (+08:00), as operators read it. */
  readonly atShanghai: string;
  readonly actor: string;
  readonly role: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly remoteAddress: string | null;
  readonly details: Record<string, unknown>;
}

export interface AuditQuery {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly outcome?: AuditOutcome;
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
  /** Only rows older than this id (the `id` of the last row of the previous page). */
  readonly before?: string;
  readonly limit: number;
}

interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  remote_address: string | null;
  details: Record<string, unknown>;
}

const COLUMNS = 'id::text AS id, at, actor, role, action, target, outcome, remote_address, details';

function recordOf(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    at: row.at.toISOString(),
    atShanghai: formatShanghai(row.at),
    actor: row.actor,
    role: row.role,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    remoteAddress: row.remote_address,
    details: row.details,
  };
}

/**
 * The service's audit trail (the `audit_log` table of its schema, see CreateAuditTrail1765100000000).
 * Write with the EntityManager of the transaction that performs the action, so the action and its
 * record commit or roll back together; a refusal (nothing else written) gets its own transaction.
 */
export class AuditTrail {
  async record(manager: EntityManager, entry: AuditEntry): Promise<AuditRecord> {
    const [row]: AuditRow[] = await manager.query(
      `INSERT INTO audit_log (at, actor, role, action, target, outcome, remote_address, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING ${COLUMNS}`,
      [entry.at, entry.actor, entry.role, entry.action, entry.target ?? null, entry.outcome, entry.remoteAddress ?? null, JSON.stringify(entry.details ?? {})],
    );
    return recordOf(row);
  }

  /** Newest first. */
  async find(manager: EntityManager, query: AuditQuery): Promise<AuditRecord[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const where = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (query.actor !== undefined) where('actor = ?', query.actor);
    if (query.action !== undefined) where('action = ?', query.action);
    if (query.target !== undefined) where('target = ?', query.target);
    if (query.outcome !== undefined) where('outcome = ?', query.outcome);
    if (query.from !== undefined) where('at >= ?', query.from);
    if (query.to !== undefined) where('at < ?', query.to);
    if (query.before !== undefined) where('id < ?::bigint', query.before);
    values.push(query.limit);
    const rows: AuditRow[] = await manager.query(
      `SELECT ${COLUMNS} FROM audit_log ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(recordOf);
  }
}
