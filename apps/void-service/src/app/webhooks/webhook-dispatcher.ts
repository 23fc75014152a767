import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import { DataSource } from 'typeorm';
import { queryPrepared } from '@pos/persistence';
import { PollingWorker } from '@pos/service-runtime';
import { WEBHOOK_SETTINGS, WebhookSettings } from './webhook.config';
import { WebhookMetrics } from './webhook-metrics';
import { AttemptResult, nextStep } from './webhook-retry-policy';
import { SecretSealer } from './webhook-secrets';
import { postWebhook } from './webhook-sender';
import { SIGNATURE_HEADER, signatureHeaderValue } from './webhook-signature';

/** A claimed delivery is another instance's again if its attempt has not been recorded by then (a crash): the timeout and this. */
const LEASE_MARGIN_MS = 30_000;

interface ClaimedDelivery {
  delivery_id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  round_attempts: number;
  round_age_ms: number;
}

interface Registration {
  merchant_id: string;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_valid: boolean;
}

/**
 * Delivers due webhook deliveries, on every instance of the service: each poll claims up to
 * WEBHOOK_CONCURRENCY due rows (`FOR UPDATE SKIP LOCKED`, so instances never take the same one)
 * by moving their next attempt a lease ahead, commits, POSTs them in parallel, and records each
 * attempt with the delivery's new state in one statement. A crash between the claim and the record
 * leaves the row to be claimed again when its lease ends: at least once.
 */
@Injectable()
export class WebhookDispatcher extends PollingWorker {
  private readonly sealer: SecretSealer;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
    private readonly metrics: WebhookMetrics,
  ) {
    super('WebhookDispatcher', 'webhook deliveries could not be claimed or recorded, trying again');
    this.sealer = new SecretSealer(settings.secretKey);
  }

  /** A round that claimed a full batch looks again at once; shutdown waits for its attempts in flight. */
  protected async round(): Promise<boolean> {
    return (await this.deliverDue()) >= this.settings.concurrency;
  }

  protected pollIntervalMs(): number {
    return this.settings.pollIntervalMs;
  }

  private async deliverDue(): Promise<number> {
    const claimed = await queryPrepared<ClaimedDelivery>(
      this.dataSource.manager,
      `UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1, round_attempts = d.round_attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
         FROM (SELECT delivery_id FROM webhook_deliveries
                WHERE status = 'PENDING' AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE d.delivery_id = due.delivery_id
        RETURNING d.delivery_id, d.merchant_id, d.event_id, d.event_type, d.body, d.attempts, d.round_attempts,
                  (extract(epoch FROM now() - d.round_started_at) * 1000)::float8 AS round_age_ms`,
      [this.settings.concurrency, (this.settings.timeoutMs + LEASE_MARGIN_MS) / 1000],
    );
    if (claimed.length === 0) return 0;
    const registrations: Registration[] = await this.dataSource.query(
      `SELECT merchant_id, url, secret_sealed, previous_secret_sealed, COALESCE(previous_secret_until > now(), false) AS previous_valid
         FROM webhooks WHERE merchant_id = ANY($1::text[])`,
      [[...new Set(claimed.map((d) => d.merchant_id))]],
    );
    const byMerchant = new Map(registrations.map((r) => [r.merchant_id, r]));
    await Promise.all(claimed.map((delivery) => this.attempt(delivery, byMerchant.get(delivery.merchant_id))));
    return claimed.length;
  }

  private async attempt(delivery: ClaimedDelivery, registration: Registration | undefined): Promise<void> {
    const attemptedAt = new Date();
    const started = process.hrtime.bigint();
    let result: AttemptResult;
    const secrets = registration ? this.secretsOf(registration) : [];
    if (!registration) {
      // The merchant deleted its webhook while this delivery was being recorded.
      result = { kind: 'not-sent', error: 'the merchant has no webhook registered' };
    } else if (secrets.length === 0) {
      result = { kind: 'not-sent', error: 'the signing secret cannot be opened with this WEBHOOK_SECRET_KEY: the merchant must rotate it' };
    } else {
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/cloudevents+json; charset=utf-8',
        'user-agent': 'pos-void-service-webhooks/1',
        [SIGNATURE_HEADER]: signatureHeaderValue(secrets, timestamp, delivery.body),
        'pos-delivery-id': delivery.delivery_id,
        'pos-delivery-attempt': String(delivery.attempts),
        'pos-event-id': delivery.event_id,
        'pos-event-type': delivery.event_type,
      };
      result = await postWebhook(registration.url, delivery.body, headers, this.settings.timeoutMs, this.settings.urlPolicy);
    }
    const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    const step = nextStep(this.settings.retry, result, delivery.round_attempts, delivery.round_age_ms, randomInt(0, 1_000_000) / 1_000_000);
    const status = result.kind === 'response' ? result.status : null;
    const error = result.kind === 'response' ? null : result.error.slice(0, 500);
    await this.dataSource.query(
      `WITH logged AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, attempted_at, url, http_status, error, duration_ms, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING)
       UPDATE webhook_deliveries
          SET status = CASE $8 WHEN 'RETRY' THEN 'PENDING' ELSE $8 END,
              next_attempt_at = CASE $8 WHEN 'RETRY' THEN now() + make_interval(secs => $9) END,
              completed_at = CASE $8 WHEN 'RETRY' THEN NULL ELSE now() END,
              last_http_status = $5, last_error = $6
        WHERE delivery_id = $1 AND attempts = $2 AND status = 'PENDING'`,
      [delivery.delivery_id, delivery.attempts, attemptedAt, registration?.url ?? '', status, error, durationMs, step.outcome, (step.retryInMs ?? 0) / 1000],
    );
    this.metrics.attempted(step.outcome, durationMs);
  }

  /** The secrets in force, the current first; one sealed under another key is left out (and logged). */
  private secretsOf(registration: Registration): string[] {
    const sealed = [registration.secret_sealed, ...(registration.previous_secret_sealed && registration.previous_valid ? [registration.previous_secret_sealed] : [])];
    const secrets: string[] = [];
    for (const [index, text] of sealed.entries()) {
      try {
        secrets.push(this.sealer.open(registration.merchant_id, text));
      } catch (error) {
        this.logger.error(`the ${index === 0 ? 'current' : 'previous'} webhook secret of ${registration.merchant_id} cannot be opened: ${String(error)}`);
        if (index === 0) return [];
      }
    }
    return secrets;
  }
}
