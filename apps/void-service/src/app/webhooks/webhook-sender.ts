import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { AttemptResult } from './webhook-retry-policy';
import { forbiddenAddress, WebhookUrlPolicy } from './webhook-url-policy';

class ForbiddenAddress extends Error {}

/** Of a receiver's answer, at most this much is read (and then dropped): only its status counts. */
const MAX_RESPONSE_BYTES = 64 * 1024;

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Resolves a receiver's host name as Node would, and refuses it when any address it resolves to is
 * one the policy forbids: checked at the connection itself, so a name that points elsewhere after
 * registration (DNS rebinding) cannot reach the platform's own network.
 */
function checkedLookup(policy: WebhookUrlPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      for (const { address } of addresses) {
        const refusal = forbiddenAddress(policy, address);
        if (refusal) return callback(new ForbiddenAddress(`${hostname}: ${refusal}`), '');
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * One POST of a delivery: the body as is, the headers given, no redirect followed, within
 * `timeoutMs` from start to the receiver's status line; a connection is not reused.
 */
export function postWebhook(url: string, body: string, headers: Record<string, string>, timeoutMs: number, policy: WebhookUrlPolicy): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ kind: 'not-sent', error: 'the registered URL is not a URL' });
      return;
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refusal = forbiddenAddress(policy, host);
      if (refusal) {
        resolve({ kind: 'not-sent', error: refusal });
        return;
      }
    }
    const options: RequestOptions = {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' },
      lookup: checkedLookup(policy) as RequestOptions['lookup'],
      agent: false,
    };
    let settled = false;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, options, (response) => {
      settle({ kind: 'response', status: response.statusCode ?? 0 });
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('error', () => undefined);
      response.resume();
    });
    const timer = setTimeout(() => {
      settle({ kind: 'network-error', error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof ForbiddenAddress) settle({ kind: 'not-sent', error: error.message });
      else settle({ kind: 'network-error', error: error.code ? `${error.code}: ${error.message}` : error.message });
    });
    request.end(body);
  });
}
