import { z } from 'zod';
import { merchantAuthConfigShape } from '@pos/service-runtime';

/** The payment service's own settings (on top of the common ones), validated at boot. */
export const paymentConfigShape = {
  ...merchantAuthConfigShape,
  /** Largest single payment accepted, in fen (default 5,000,000 fen = 50,000 yuan). */
  PAYMENT_MAX_AMOUNT_FEN: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(5_000_000),
  /** Simulated channel round trip. */
  CHANNEL_SIMULATOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /** How often the poller looks for payments waiting on the channel. */
  PAYMENT_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  /** Delay between two queries of a customer still paying (USERPAYING). */
  PAYMENT_PENDING_QUERY_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
  /** A customer still paying after this long is reversed (WeChat advises about 30 s of polling, then reverse). */
  PAYMENT_PENDING_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /**
   * A PROCESSING payment older than this lost its channel answer (crash, restart): the poller
   * queries the channel for it. Must exceed the channel's own timeout.
   */
  PAYMENT_PROCESSING_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
};

export type PaymentConfig = z.infer<z.ZodObject<typeof paymentConfigShape>>;
