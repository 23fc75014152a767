import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ChannelName } from '@pos/contracts';
import { CredentialHash, DEFAULT_SCRYPT_PARAMETERS, merchantAuthConfigShape, operatorAuthConfigShape, parseCredentialHash, verifyCredential } from '@pos/service-runtime';
import { parseChannelList, parseDuration, parseVoidWindow, voidRulesFrom, VoidRules } from '@pos/void-domain';
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
};

export interface VoidServiceSettings {
  readonly supervisorCredentials: ReadonlyMap<string, CredentialHash>;
  readonly supervisorLockout: { readonly failures: number; readonly windowMs: number; readonly durationMs: number };
  readonly supervisorAuthorisationTtlMs: number;
  readonly voidRules: VoidRules;
}

const CHANNELS: readonly ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

/** Turns the validated settings into the objects the service works with. */
export function voidServiceSettingsFrom(config: Record<string, unknown>): VoidServiceSettings {
  const text = (key: string): string | undefined => config[key] as string | undefined;
  const perChannel = (prefix: string) => Object.fromEntries(CHANNELS.map((channel) => [channel, text(`${prefix}${channel}`)]));
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
