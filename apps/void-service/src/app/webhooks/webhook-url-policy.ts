import { BlockList, isIP } from 'node:net';

/** Where a webhook may point (WEBHOOK_ALLOW_* settings, docs/security.md). */
export interface WebhookUrlPolicy {
  /** Loopback hosts (127.0.0.0/8, ::1, localhost) allowed, over http too: tests and the demo only. */
  readonly allowInsecureLoopback: boolean;
  /** Private networks (RFC 1918, fc00::/7, 100.64.0.0/10) allowed, over https: receivers inside the deployment's network. */
  readonly allowPrivateAddresses: boolean;
}

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

function blockList(v4: readonly string[], v6: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of v4) list.addSubnet(cidr.split('/')[0], Number(cidr.split('/')[1]), 'ipv4');
  for (const cidr of v6) list.addSubnet(cidr.split('/')[0], Number(cidr.split('/')[1]), 'ipv6');
  return list;
}

const LOOPBACK = blockList(['127.0.0.0/8'], ['::1/128']);
const PRIVATE = blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'], ['fc00::/7']);
// 169.254.169.254 is the cloud metadata service: never a webhook, whatever the settings.
const LINK_LOCAL = blockList(['169.254.0.0/16'], ['fe80::/10']);
const RESERVED = blockList(
  ['0.0.0.0/8', '192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'],
  ['::/128', '100::/64', '2001:db8::/32', 'ff00::/8'],
);

/** What an IP address is, for the policy; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is its IPv4 address. */
export function addressKind(address: string): AddressKind {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1] : address.replace(/^\[|\]$/g, '');
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(ip) === 0) throw new Error(`${address} is not an IP address`);
  if (LOOPBACK.check(ip, family)) return 'loopback';
  if (LINK_LOCAL.check(ip, family)) return 'link-local';
  if (PRIVATE.check(ip, family)) return 'private';
  if (RESERVED.check(ip, family)) return 'reserved';
  return 'public';
}

/** Why an address may not receive deliveries under the policy; undefined when it may. */
export function forbiddenAddress(policy: WebhookUrlPolicy, address: string): string | undefined {
  const kind = addressKind(address);
  if (kind === 'public') return undefined;
  if (kind === 'loopback' && policy.allowInsecureLoopback) return undefined;
  if (kind === 'private' && policy.allowPrivateAddresses) return undefined;
  return `${address} is a ${kind} address, which webhooks may not reach`;
}

export type UrlRefusal = 'WEBHOOK_URL_INVALID' | 'WEBHOOK_URL_SCHEME_NOT_ALLOWED' | 'WEBHOOK_URL_CREDENTIALS' | 'WEBHOOK_URL_ADDRESS_FORBIDDEN';

export const MAX_URL_LENGTH = 2048;

const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * Checks a webhook URL as a merchant registers it: an absolute https URL (http only to a loopback
 * host, when allowed), no user name or password, no fragment, and, for a host given as an address
 * or as `localhost`, an address the policy allows. Names are resolved at each delivery and every
 * address they resolve to is checked then (a name may change what it points to).
 */
export function checkWebhookUrl(policy: WebhookUrlPolicy, text: string): { ok: true; url: URL } | { ok: false; code: UrlRefusal; message: string } {
  if (text.length > MAX_URL_LENGTH) return { ok: false, code: 'WEBHOOK_URL_INVALID', message: `url must be at most ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, code: 'WEBHOOK_URL_INVALID', message: 'url is not an absolute URL' };
  }
  if (url.hash !== '' || text.includes('#')) return { ok: false, code: 'WEBHOOK_URL_INVALID', message: 'url must have no fragment (#…)' };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, code: 'WEBHOOK_URL_CREDENTIALS', message: 'url must not carry a user name or password: deliveries are authenticated by their signature' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const literal = isIP(host) !== 0 || /^::ffff:/i.test(host);
  const loopback = isLoopbackName(host) || (literal && addressKind(host) === 'loopback');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && policy.allowInsecureLoopback)) {
    return { ok: false, code: 'WEBHOOK_URL_SCHEME_NOT_ALLOWED', message: 'url must be https (http only to a loopback host where WEBHOOK_ALLOW_INSECURE_LOOPBACK is on)' };
  }
  if (isLoopbackName(host) && !policy.allowInsecureLoopback) {
    return { ok: false, code: 'WEBHOOK_URL_ADDRESS_FORBIDDEN', message: `${host} is a loopback host, which webhooks may not reach` };
  }
  if (literal) {
    const refusal = forbiddenAddress(policy, host);
    if (refusal) return { ok: false, code: 'WEBHOOK_URL_ADDRESS_FORBIDDEN', message: refusal };
  }
  return { ok: true, url };
}
