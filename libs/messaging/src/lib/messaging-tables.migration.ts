import { MigrationInterface, QueryRunner } from 'typeorm';

/** The outbox's NOTIFY trigger, as the first migration created it (and the second's down restores it). */
const CREATE_OUTBOX_NOTIFY = [
  `CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`,
];

/**
 * The tables behind exactly-once delivery, in every service's schema:
 * - `outbox`: events written in the same transaction as the state change they announce; the relay
 *   publishes them in id order and stamps `published_at` only after the broker acknowledged.
 * - `inbox`: ids of the events a consumer group has applied, written in the same transaction as the
 *   effect, so a redelivered event is a no-op; the payload hash tells a replay from a modified event.
 */
export class CreateMessagingTables1764200000000 implements MigrationInterface {
  name = 'CreateMessagingTables1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox (
        id           bigserial PRIMARY KEY,
        event_id     uuid        NOT NULL UNIQUE,
        topic        text        NOT NULL,
        message_key  text        NOT NULL,
        headers      jsonb       NOT NULL,
        payload      jsonb       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL`);
    // Dropped by DropOutboxNotify1764500000000 below; kept so that this migration stays as it ran.
    for (const statement of CREATE_OUTBOX_NOTIFY) await queryRunner.query(statement);
    await queryRunner.query(`
      CREATE TABLE inbox (
        consumer_group text        NOT NULL,
        event_id       text        NOT NULL,
        payload_hash   char(64)    NOT NULL,
        topic          text        NOT NULL,
        partition      integer     NOT NULL,
        "offset"       bigint      NOT NULL,
        processed_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, event_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE inbox`);
    await queryRunner.query(`DROP TABLE outbox`);
    await queryRunner.query(`DROP FUNCTION outbox_notify()`);
  }
}

/**
 * The outbox loses its NOTIFY trigger: the relay polls instead (see OutboxRelay). A NOTIFY takes a
 * database-wide lock at the commit of every transaction that wrote to the outbox.
 */
export class DropOutboxNotify1764500000000 implements MigrationInterface {
  name = 'DropOutboxNotify1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER outbox_notify ON outbox`);
    await queryRunner.query(`DROP FUNCTION outbox_notify()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const statement of CREATE_OUTBOX_NOTIFY) await queryRunner.query(statement);
  }
}

/**
 * `event_source` of the inbox rows written before the inbox knew sources. `ce_source` is never
 * empty (the codec refuses it), so no event of today has it. Such a row claims its id for every
 * source: an event applied before the change and redelivered after it is still a duplicate.
 */
export const LEGACY_INBOX_SOURCE = '';

/**
 * The inbox deduplicates on `ce_source` + `ce_id`, the identity CloudEvents 1.0 gives an event:
 * two upstream systems that happen to use the same id are two events, not a modified duplicate.
 * Adding the column with a constant default rewrites no row; the new primary key is built once.
 */
export class InboxKeyedBySource1764950000000 implements MigrationInterface {
  name = 'InboxKeyedBySource1764950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The existing rows get LEGACY_INBOX_SOURCE (written out: a migration stays as it ran).
    await queryRunner.query(`ALTER TABLE inbox ADD COLUMN event_source text NOT NULL DEFAULT ''`);
    // From now on every row names its source.
    await queryRunner.query(`ALTER TABLE inbox ALTER COLUMN event_source DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE inbox DROP CONSTRAINT inbox_pkey, ADD PRIMARY KEY (consumer_group, event_source, event_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Keyed by id alone again: of the events that share an id, the first applied keeps it.
    await queryRunner.query(`
      DELETE FROM inbox later USING inbox earlier
      WHERE later.consumer_group = earlier.consumer_group AND later.event_id = earlier.event_id
        AND (later.processed_at, later.event_source) > (earlier.processed_at, earlier.event_source)`);
    await queryRunner.query(`ALTER TABLE inbox DROP CONSTRAINT inbox_pkey, ADD PRIMARY KEY (consumer_group, event_id)`);
    await queryRunner.query(`ALTER TABLE inbox DROP COLUMN event_source`);
  }
}

/**
 * Each outbox row keeps the W3C `traceparent` of the request or event that wrote it; the relay
 * sends it as the `ce_traceparent` header. Rows written before have none (null: no header). A
 * nullable column without a default rewrites no row.
 */
export class OutboxTraceparent1765450000000 implements MigrationInterface {
  name = 'OutboxTraceparent1765450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox ADD COLUMN traceparent text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox DROP COLUMN traceparent`);
  }
}

/**
 * The messaging tables alone, for a data source that has no other tables (tests, benchmarks). A
 * service lists these migrations itself, in timestamp order among its own.
 */
export const messagingMigrations = [
  CreateMessagingTables1764200000000,
  DropOutboxNotify1764500000000,
  InboxKeyedBySource1764950000000,
  OutboxTraceparent1765450000000,
];
