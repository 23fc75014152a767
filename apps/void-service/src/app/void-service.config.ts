import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ChannelName } from '@pos/contracts';
import { CredentialHash, DEFAULT_SCRYPT_PARAMETERS, merchantAuthConfigShape, operatorAuthConfigShape, parseCredentialHash, verifyCredential } from '@pos/service-runtime';
import { ExecutionBackoff, parseChannelList, parseDuration, parseVoidWindow, voidRulesFrom, VoidRules } from '@pos/void-domain';
import { webhookConfigShape } from './webhooks/webhook.config';

/** Validates a setting with the domain's own parser, so a bad one fails the boot with the key named; keeps the text. */
function checkedBy(parse: (text: string) => unknown) {
  return (text: string, ctx: z.RefinementCtx): void => {
    try {
      parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  };
}
function positiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error(`must be longer than zero, got ${JSON.stringify(text)}`);
  return ms;
}
const optionalSetting = (parse: (text: string) => unknown) => z.string().min(1).superRefine(checkedBy(parse)).optional();

/**
 * `SUPERVISOR_CREDENTIALS=M100/OP9:scrypt$N=32768:r=8:p=1$<salt>$<hash>,…`: the credential (主管密码)
 * of each supervisor, per merchant, as a salted scrypt hash (`npm run ops -- supervisor hash` makes
 * one). Only operators listed here can authorise a void. A plain sha256 stops the boot.
 */
const supervisorCredentials = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const byOperator = new Map<string, CredentialHash>();
    for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9][A-Za-z0-9._:-]{0,63})\/([A-Za-z0-9][A-Za-z0-9._:-]{0,63}):(.+)$/.exec(entry);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected merchantId/operatorId:scrypt$…, got "${entry.slice(0, 12)}…"` });
        return z.NEVER;
      }
      try {
        byOperator.set(`${match[1]}/${match[2]}`, parseCredentialHash(match[3]));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${match[1]}/${match[2]}: ${error instanceof Error ? error.message : String(error)}` });
        return z.NEVER;
      }
    }
    return byOperator;
  });

export const voidServiceConfigShape = {
  ...merchantAuthConfigShape,
  /** Operators' tokens, for the webhook delivery log and its redrive (docs/security.md). */
  ...operatorAuthConfigShape,
  ...webhookConfigShape,
  SUPERVISOR_CREDENTIALS: supervisorCredentials,
  /** Wrong credentials within SUPERVISOR_LOCKOUT_WINDOW that lock a supervisor for SUPERVISOR_LOCKOUT_DURATION. */
  SUPERVISOR_LOCKOUT_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  SUPERVISOR_LOCKOUT_WINDOW: z.string().default('15m').superRefine(checkedBy(positiveDuration)),
  SUPERVISOR_LOCKOUT_DURATION: z.string().default('30m').superRefine(checkedBy(positiveDuration)),
  /** How long a supervisor authorisation (POST /v1/supervisor-authorisations) may be used. */
  SUPERVISOR_AUTHORISATION_TTL: z.string().default('5m').superRefine(checkedBy(positiveDuration)),
  /** The channels' own void windows: `age:<duration>` or `until:<cutoff schedule>`. */
  VOID_WINDOW_WECHAT: optionalSetting(parseVoidWindow),
  VOID_WINDOW_ALIPAY: optionalSetting(parseVoidWindow),
  VOID_WINDOW_UNIONPAY_CARD: optionalSetting(parseVoidWindow),
  /** Earliest void after the pay call (WeChat advises 15s); default 0s. */
  VOID_MIN_AGE_WECHAT: optionalSetting(parseDuration),
  VOID_MIN_AGE_ALIPAY: optionalSetting(parseDuration),
  VOID_MIN_AGE_UNIONPAY_CARD: optionalSetting(parseDuration),
  VOID_SUPERVISOR_CHANNELS: z.string().default('UNIONPAY_CARD').superRefine(checkedBy(parseChannelList)),
  VOID_ORIGINAL_TERMINAL_CHANNELS: z.string().default('UNIONPAY_CARD').superRefine(checkedBy(parseChannelList)),
  /** Accepted voids executed at the channel (ADR 0008): the simulated channel's round trip. */
  VOID_CHANNEL_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /** How often the executor looks for executions due, when the last look found fewer than a batch. */
  VOID_EXECUTION_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  /** Executions one executor takes at a time (its channel calls run side by side). */
  VOID_EXECUTION_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(20),
  /** How long a taken execution is left to its executor before another instance may take it again. */
  VOID_EXECUTION_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** Retries of "try again" and no answer: the first after the base, doubling up to the cap. */
  VOID_EXECUTION_BACKOFF_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(1_000),
  VOID_EXECUTION_BACKOFF_CAP_MS: z.coerce.number().int().min(1).max(3_600_000).default(300_000),
};

export interface VoidServiceSettings {
  readonly supervisorCredentials: ReadonlyMap<string, CredentialHash>;
  readonly supervisorLockout: { readonly failures: number; readonly windowMs: number; readonly durationMs: number };
  readonly supervisorAuthorisationTtlMs: number;
  readonly voidRules: VoidRules;
  readonly execution: {
    readonly channelLatencyMs: number;
    readonly pollIntervalMs: number;
    readonly batchSize: number;
    readonly leaseMs: number;
    readonly backoff: ExecutionBackoff;
  };
}

const CHANNELS: readonly ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

/** Turns the validated settings into the objects the service works with. */
export function voidServiceSettingsFrom(config: Record<string, unknown>): VoidServiceSettings {
  const text = (key: string): string | undefined => config[key] as string | undefined;
  const perChannel = (prefix: string) => Object.fromEntries(CHANNELS.map((channel) => [channel, text(`${prefix}${channel}`)]));
  const backoff = { baseMs: config['VOID_EXECUTION_BACKOFF_BASE_MS'] as number, capMs: config['VOID_EXECUTION_BACKOFF_CAP_MS'] as number };
  if (backoff.capMs < backoff.baseMs) {
    throw new Error(`VOID_EXECUTION_BACKOFF_CAP_MS (${backoff.capMs}) must not be below VOID_EXECUTION_BACKOFF_BASE_MS (${backoff.baseMs})`);
  }
  return {
    supervisorCredentials: config['SUPERVISOR_CREDENTIALS'] as Map<string, CredentialHash>,
    supervisorLockout: {
      failures: config['SUPERVISOR_LOCKOUT_FAILURES'] as number,
      windowMs: parseDuration(text('SUPERVISOR_LOCKOUT_WINDOW') as string),
      durationMs: parseDuration(text('SUPERVISOR_LOCKOUT_DURATION') as string),
    },
    supervisorAuthorisationTtlMs: parseDuration(text('SUPERVISOR_AUTHORISATION_TTL') as string),
    voidRules: voidRulesFrom({
      window: perChannel('VOID_WINDOW_'),
      minAge: perChannel('VOID_MIN_AGE_'),
      supervisorChannels: text('VOID_SUPERVISOR_CHANNELS'),
      originalTerminalChannels: text('VOID_ORIGINAL_TERMINAL_CHANNELS'),
    }),
    execution: {
      channelLatencyMs: config['VOID_CHANNEL_LATENCY_MS'] as number,
      pollIntervalMs: config['VOID_EXECUTION_POLL_INTERVAL_MS'] as number,
      batchSize: config['VOID_EXECUTION_BATCH_SIZE'] as number,
      leaseMs: config['VOID_EXECUTION_LEASE_MS'] as number,
      backoff,
    },
  };
}

/** What an unknown operator's credential is checked against, so that it costs as much as a known one's. */
const UNKNOWN_OPERATOR: CredentialHash = { parameters: DEFAULT_SCRYPT_PARAMETERS, salt: randomBytes(16), hash: randomBytes(32) };

/**
 * Checks a supervisor's credential against its configured scrypt hash (off the event loop, compared
 * in constant time); the credential goes no further.
 */
export async function checkSupervisor(
  credentials: ReadonlyMap<string, CredentialHash>,
  merchantId: string,
  supervisor: { operatorId: string; credential: string },
): Promise<'VERIFIED' | 'INVALID'> {
  const expected = credentials.get(`${merchantId}/${supervisor.operatorId}`);
  const matches = await verifyCredential(supervisor.credential, expected ?? UNKNOWN_OPERATOR);
  return expected && matches ? 'VERIFIED' : 'INVALID';
}
