import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ChannelName } from '@pos/contracts';
import { merchantAuthConfigShape } from '@pos/service-runtime';
import { parseChannelList, parseDuration, parseVoidWindow, SupervisorCheck, voidRulesFrom, VoidRules } from '@pos/void-domain';

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
const optionalSetting = (parse: (text: string) => unknown) => z.string().min(1).superRefine(checkedBy(parse)).optional();

/**
 * `SUPERVISOR_CREDENTIALS=M100/OP9:<sha256 hex>,…`: the credential (主管密码) of each supervisor,
 * per merchant, stored hashed. Only operators listed here can authorise a void.
 */
const supervisorCredentials = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const byOperator = new Map<string, Buffer>();
    for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9][A-Za-z0-9._:-]{0,63})\/([A-Za-z0-9][A-Za-z0-9._:-]{0,63}):([0-9a-f]{64})$/.exec(entry);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected merchantId/operatorId:sha256hex, got "${entry.slice(0, 12)}…"` });
        return z.NEVER;
      }
      byOperator.set(`${match[1]}/${match[2]}`, Buffer.from(match[3], 'hex'));
    }
    return byOperator;
  });

export const voidServiceConfigShape = {
  ...merchantAuthConfigShape,
  SUPERVISOR_CREDENTIALS: supervisorCredentials,
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
  readonly supervisorCredentials: ReadonlyMap<string, Buffer>;
  readonly voidRules: VoidRules;
}

const CHANNELS: readonly ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

/** Turns the validated settings into the objects the service works with. */
export function voidServiceSettingsFrom(config: Record<string, unknown>): VoidServiceSettings {
  const text = (key: string): string | undefined => config[key] as string | undefined;
  const perChannel = (prefix: string) => Object.fromEntries(CHANNELS.map((channel) => [channel, text(`${prefix}${channel}`)]));
  return {
    supervisorCredentials: config['SUPERVISOR_CREDENTIALS'] as Map<string, Buffer>,
    voidRules: voidRulesFrom({
      window: perChannel('VOID_WINDOW_'),
      minAge: perChannel('VOID_MIN_AGE_'),
      supervisorChannels: text('VOID_SUPERVISOR_CHANNELS'),
      originalTerminalChannels: text('VOID_ORIGINAL_TERMINAL_CHANNELS'),
    }),
  };
}

/** Checks a supervisor's credential against its configured hash in constant time; the credential goes no further. */
export function checkSupervisor(
  credentials: ReadonlyMap<string, Buffer>,
  merchantId: string,
  supervisor: { operatorId: string; credential: string } | undefined,
): SupervisorCheck {
  if (!supervisor) return 'MISSING';
  const expected = credentials.get(`${merchantId}/${supervisor.operatorId}`);
  const actual = createHash('sha256').update(supervisor.credential, 'utf8').digest();
  if (!expected) return 'INVALID';
  return timingSafeEqual(expected, actual) ? 'VERIFIED' : 'INVALID';
}
