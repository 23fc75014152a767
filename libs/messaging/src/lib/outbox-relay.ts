import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { CloudEventHeaders } from '@pos/contracts';
import { MessageBroker, MessageProducer, OutboundMessage } from './broker.port';

export interface OutboxRelayOptions {
  /** PostgreSQL URL for the relay's own session: the leader lock and the relay's queries live on it. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly batchSize?: number;
  /**
   * Under steady load, how long the relay lets rows gather after a partial batch before it reads
   * the next (default 1 ms), and the first wait after an empty read. Longer means fewer, larger
   * batches for more time to Kafka: at 500 voids/s, 5 ms cost 3-4 ms of median publication
   * latency, and saved the broker about a third of its CPU (docs/performance.md).
   */
  readonly lingerMs?: number;
  /**
   * The longest wait between reads of an empty outbox (default 50 ms): the wait doubles from
   * `lingerMs` up to this while nothing comes, so an idle relay costs a few cheap reads a second
   * and an event written after a quiet spell waits at most this long.
   */
  readonly pollIntervalMs?: number;
  /** Published rows older than this are deleted (default a week). */
  readonly retentionHours?: number;
  /**
   * The most published rows one cleanup statement deletes (default 1,000), oldest first. Cleanup
   * runs between batches on the relay's session, so one statement is also the longest it holds
   * publication back; a full chunk is followed by another after the next batch.
   */
  readonly cleanupChunk?: number;
}

/** How often the relay looks for published rows past their retention, once it has caught up. */
const CLEANUP_INTERVAL_MS = 60_000;

/** A batch Kafka has acknowledged: its rows' ids and the time of the ack. */
interface Acknowledged {
  readonly ids: string[];
  readonly at: Date;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  headers: Record<string, string>;
  payload: unknown;
  /** Null for rows written before the outbox had the column. */
  traceparent: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes the outbox to Kafka in id order and marks rows published only after the broker
 * acknowledged them (idempotent producer, acks=all). One instance of a service relays at a time,
 * chosen by a PostgreSQL advisory lock: a single relay keeps the order in which conflicting
 * transactions committed (ADR 0002 depends on it). A crash between publish and mark republishes,
 * which consumers absorb through their inbox: at least once on the wire, exactly once in effect.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private session?: Client;
  private producer?: MessageProducer;

  constructor(
    private readonly broker: MessageBroker,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 200;
    while (this.running) {
      try {
        await this.lead();
        backoff = 200;
      } catch (error) {
        if (!this.running) break;
        this.logger.warn(`relay interrupted, retrying in ${backoff} ms: ${String(error)}`);
        await this.closeSession();
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
    await this.closeSession();
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  /** Becomes the leader (or waits to), then publishes until stopped or the session breaks. */
  private async lead(): Promise<void> {
    // Its own connection, not the service's pool: under load the pool is busy with requests, and
    // the relay waiting in its queue would delay every event.
    const session = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'outbox-relay',
      // How the relay reads stays cheap as the outbox grows (published rows stay for
      // `retentionHours`), whatever the table's statistics say:
      // - custom plans only: a generic plan made while the outbox was nearly empty scans the whole
      //   table at every batch, until an analyze of the table happens to replace it;
      // - no bitmap scans: the index of unpublished rows still holds an entry for every row
      //   published since the last vacuum. A plain index scan marks those entries dead as it
      //   passes, so the next read skips them; a bitmap scan visits every one of them again at
      //   every batch (measured: 6 ms per read after 20,000 events, against 0.2 ms).
      options: `-c search_path=${this.options.schema} -c plan_cache_mode=force_custom_plan -c enable_bitmapscan=off`,
      // A database host that does not answer at all (not even a refusal) must not hold the relay,
      // nor a shutdown waiting for it, longer than the service's pool would wait.
      connectionTimeoutMillis: 5_000,
    });
    this.session = session;
    let broken: Error | undefined;
    session.on('error', (error) => {
      broken = error;
      this.wake?.();
    });
    await session.connect();
    while (this.running) {
      const { rows } = await session.query<{ leader: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS leader', [
        `outbox-relay:${this.options.schema}`,
      ]);
      if (rows[0].leader) break;
      await this.idle(2_000);
      if (broken) throw broken;
    }
    if (!this.running) return;
    const producer = (this.producer ??= await this.broker.createProducer());
    const batchSize = this.options.batchSize ?? 500;
    const linger = this.options.lingerMs ?? 1;
    const cleanupChunk = this.options.cleanupChunk ?? 1_000;
    let wait = linger;
    let cleanupDue = 0;
    // The batch Kafka acknowledged last, not yet marked: the next read marks it (one round trip per
    // batch instead of two). A crash before that republishes it, as a crash between the ack and a
    // separate mark would; consumers absorb the repeat through their inbox.
    let acknowledged: Acknowledged | undefined;
    // Polling, not LISTEN/NOTIFY: a NOTIFY takes a database-wide lock at every commit that wrote
    // to the outbox, which halved the commit rate the services can reach (measured in docs/performance.md).
    while (this.running) {
      if (broken) throw broken;
      const rows = await this.nextBatch(session, batchSize, acknowledged);
      acknowledged = rows.length > 0 ? await this.publish(producer, rows) : undefined;
      if (Date.now() >= cleanupDue) {
        const deleted = await this.deletePublished(session, cleanupChunk);
        cleanupDue = deleted < cleanupChunk ? Date.now() + CLEANUP_INTERVAL_MS : 0;
      }
      if (rows.length >= batchSize) continue;
      if (rows.length > 0) {
        wait = linger;
        await this.idle(linger);
      } else {
        await this.idle(wait);
        wait = Math.min(wait * 2, this.options.pollIntervalMs ?? 50);
      }
    }
    // Stopped: a read of no rows marks the last acknowledged batch.
    if (acknowledged && !broken) await this.nextBatch(session, 0, acknowledged);
  }

  /**
   * Marks the batch acknowledged last (if any) and reads the next, in one statement. The read sees
   * the outbox as it was before the mark, so it leaves the acknowledged rows out by their ids.
   */
  private async nextBatch(session: Client, batchSize: number, acknowledged: Acknowledged | undefined): Promise<OutboxRow[]> {
    // Named: parsed once on this session; planned at each batch (see plan_cache_mode above).
    const { rows } = await session.query<OutboxRow>({
      name: 'outbox-mark-and-read',
      text: `WITH marked AS (UPDATE outbox SET published_at = $3 WHERE id = ANY($2::bigint[]))
             SELECT id, topic, message_key, headers, payload, traceparent FROM outbox
             WHERE published_at IS NULL AND id <> ALL($2::bigint[]) ORDER BY id LIMIT $1`,
      values: [batchSize, acknowledged?.ids ?? [], acknowledged?.at ?? null],
    });
    return rows;
  }

  /** Sends a batch and returns it as acknowledged, stamped with the time of Kafka's ack. */
  private async publish(producer: MessageProducer, rows: OutboxRow[]): Promise<Acknowledged> {
    const messages: OutboundMessage[] = rows.map((row) => ({
      topic: row.topic,
      key: row.message_key,
      headers: row.traceparent === null ? row.headers : { ...row.headers, [CloudEventHeaders.traceparent]: row.traceparent },
      value: JSON.stringify(row.payload),
    }));
    await producer.send(messages);
    // The rows were published when Kafka had them, by the service's clock, not when they are marked.
    return { ids: rows.map((row) => row.id), at: new Date() };
  }

  /**
   * Deletes published rows past their retention among the oldest `chunk` rows, walking the primary
   * key from its start: the work is bounded by the chunk, not by the size of the retained history
   * (a plain `DELETE … WHERE published_at < …` reads the whole table, a week of events, with
   * publication held back meanwhile). Rows are about as old as their ids, so the oldest ids hold
   * what has expired; an unpublished row is never deleted.
   */
  private async deletePublished(session: Client, chunk: number): Promise<number> {
    const { rowCount } = await session.query({
      name: 'outbox-delete-expired',
      text: `DELETE FROM outbox WHERE id IN (
               SELECT id FROM (SELECT id, published_at FROM outbox ORDER BY id LIMIT $2) AS oldest
               WHERE published_at < now() - make_interval(hours => $1))`,
      values: [this.options.retentionHours ?? 24 * 7, chunk],
    });
    return rowCount ?? 0;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) await session.end().catch(() => undefined);
  }
}
