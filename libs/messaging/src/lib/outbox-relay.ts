import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MessageBroker, MessageProducer, OutboundMessage } from './broker.port';

export interface OutboxRelayOptions {
  /** PostgreSQL URL for the relay's own session: the leader lock and the relay's queries live on it. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly batchSize?: number;
  /**
   * Under steady load, how long the relay lets rows gather after a partial batch before it reads
   * the next (default 5 ms): fewer, larger batches for a few milliseconds more to Kafka. It is
   * also the first wait after an empty read.
   */
  readonly lingerMs?: number;
  /**
   * The longest wait between reads of an empty outbox (default 50 ms): the wait doubles from
   * `lingerMs` up to this while nothing comes, so an idle relay costs a few cheap reads a second
   * and an event written after a quiet spell waits at most this long.
   */
  readonly pollIntervalMs?: number;
  /** Published rows older than this are deleted. */
  readonly retentionHours?: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  headers: Record<string, string>;
  payload: unknown;
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
      options: `-c search_path=${this.options.schema}`,
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
    this.producer ??= await this.broker.createProducer();
    const batchSize = this.options.batchSize ?? 500;
    const linger = this.options.lingerMs ?? 5;
    let wait = linger;
    let lastCleanup = 0;
    // Polling, not LISTEN/NOTIFY: a NOTIFY takes a database-wide lock at every commit that wrote
    // to the outbox, which halved the commit rate the services can reach (measured in the README).
    while (this.running) {
      if (broken) throw broken;
      const published = await this.publishBatch(session, this.producer, batchSize);
      if (Date.now() - lastCleanup > 60_000) {
        await this.deletePublished(session);
        lastCleanup = Date.now();
      }
      if (published >= batchSize) continue;
      if (published > 0) {
        wait = linger;
        await this.idle(linger);
      } else {
        await this.idle(wait);
        wait = Math.min(wait * 2, this.options.pollIntervalMs ?? 50);
      }
    }
  }

  private async publishBatch(session: Client, producer: MessageProducer, batchSize: number): Promise<number> {
    // Named: prepared once on this session, not parsed and planned for every batch.
    const { rows } = await session.query<OutboxRow>({
      name: 'outbox-next-batch',
      text: `SELECT id, topic, message_key, headers, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
      values: [batchSize],
    });
    if (rows.length === 0) return 0;
    const messages: OutboundMessage[] = rows.map((row) => ({
      topic: row.topic,
      key: row.message_key,
      headers: row.headers,
      value: JSON.stringify(row.payload),
    }));
    await producer.send(messages);
    await session.query({
      name: 'outbox-mark-published',
      text: `UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`,
      values: [rows.map((r) => r.id)],
    });
    return rows.length;
  }

  private async deletePublished(session: Client): Promise<void> {
    await session.query(
      `DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)`,
      [this.options.retentionHours ?? 24 * 7],
    );
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
