import { CutoffSchedule, parseCutoffSchedule } from '@pos/business-calendar';
import type { ChannelName } from '@pos/contracts';

/**
 * How long a channel lets a payment be voided, counted from the payment itself:
 * - `MAX_AGE`: a fixed time after the order was created (WeChat: 7 days);
 * - `UNTIL_CUTOFF`: until the first cutoff of a schedule after the payment succeeded (Alipay: the
 *   end of the trade day in Asia/Shanghai, `daily@00:00`; UnionPay: the 23:00 day-cut).
 */
export type VoidWindow =
  | { readonly kind: 'MAX_AGE'; readonly maxAgeMs: number }
  | { readonly kind: 'UNTIL_CUTOFF'; readonly schedule: CutoffSchedule };

export interface ChannelVoidRule {
  readonly window: VoidWindow;
  /** No void earlier than this after the order was created (WeChat advises 15 s); 0 = none. */
  readonly minAgeMs: number;
  /** 主管密码: a supervisor credential must accompany the void. */
  readonly requireSupervisor: boolean;
  /** The void must come from the terminal that took the payment. */
  readonly requireOriginalTerminal: boolean;
  /** The void must quote the original POS batch and voucher numbers. */
  readonly requireCardReference: boolean;
}

export type VoidRules = Readonly<Record<ChannelName, ChannelVoidRule>>;

const CHANNEL_NAMES: readonly ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

/** DOMAIN.md's channel table. Acquirers differ, so every value can be overridden by configuration. */
export const DEFAULT_VOID_SETTINGS: Readonly<Record<ChannelName, { window: string; minAge: string }>> = {
  WECHAT: { window: 'age:7d', minAge: '0s' },
  ALIPAY: { window: 'until:daily@00:00', minAge: '0s' },
  UNIONPAY_CARD: { window: 'until:daily@23:00', minAge: '0s' },
};
export const DEFAULT_SUPERVISOR_CHANNELS = 'UNIONPAY_CARD';
export const DEFAULT_ORIGINAL_TERMINAL_CHANNELS = 'UNIONPAY_CARD';
/** A card void references the original voucher by nature (ISO 8583 撤销 quotes batch + voucher number). */
const CARD_REFERENCE_CHANNELS: readonly ChannelName[] = ['UNIONPAY_CARD'];

export class VoidRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VoidRuleError';
  }
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(0|[1-9][0-9]{0,8})(ms|s|m|h|d)$/;

/** `15s`, `7d`, `0s`, `500ms`. */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) throw new VoidRuleError(`duration must be <N>ms|s|m|h|d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** `age:<duration>` or `until:<cutoff schedule>`, e.g. `age:7d`, `until:daily@23:00`. */
export function parseVoidWindow(text: string): VoidWindow {
  const trimmed = text.trim();
  if (trimmed.startsWith('age:')) {
    const maxAgeMs = parseDuration(trimmed.slice(4));
    if (maxAgeMs <= 0) throw new VoidRuleError(`a void window must be longer than zero, got ${JSON.stringify(text)}`);
    return { kind: 'MAX_AGE', maxAgeMs };
  }
  if (trimmed.startsWith('until:')) {
    try {
      return { kind: 'UNTIL_CUTOFF', schedule: parseCutoffSchedule(trimmed.slice(6)) };
    } catch (error) {
      throw new VoidRuleError(`bad void window ${JSON.stringify(text)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new VoidRuleError(`void window must be age:<duration> or until:<schedule>, got ${JSON.stringify(text)}`);
}

export function parseChannelList(text: string): ChannelName[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!(CHANNEL_NAMES as readonly string[]).includes(name)) {
      throw new VoidRuleError(`unknown channel ${JSON.stringify(name)}; expected one of ${CHANNEL_NAMES.join(', ')}`);
    }
  }
  return names as ChannelName[];
}

export interface VoidRuleSettings {
  readonly window?: Partial<Record<ChannelName, string | undefined>>;
  readonly minAge?: Partial<Record<ChannelName, string | undefined>>;
  /** Comma-separated channels. */
  readonly supervisorChannels?: string;
  readonly originalTerminalChannels?: string;
}

/** Builds the rules from `VOID_WINDOW_<CHANNEL>`, `VOID_MIN_AGE_<CHANNEL>`, ... style settings; throws on bad ones. */
export function voidRulesFrom(settings: VoidRuleSettings = {}): VoidRules {
  const supervisor = parseChannelList(settings.supervisorChannels ?? DEFAULT_SUPERVISOR_CHANNELS);
  const originalTerminal = parseChannelList(settings.originalTerminalChannels ?? DEFAULT_ORIGINAL_TERMINAL_CHANNELS);
  const rule = (channel: ChannelName): ChannelVoidRule => ({
    window: parseVoidWindow(settings.window?.[channel] ?? DEFAULT_VOID_SETTINGS[channel].window),
    minAgeMs: parseDuration(settings.minAge?.[channel] ?? DEFAULT_VOID_SETTINGS[channel].minAge),
    requireSupervisor: supervisor.includes(channel),
    requireOriginalTerminal: originalTerminal.includes(channel),
    requireCardReference: CARD_REFERENCE_CHANNELS.includes(channel),
  });
  return { WECHAT: rule('WECHAT'), ALIPAY: rule('ALIPAY'), UNIONPAY_CARD: rule('UNIONPAY_CARD') };
}
