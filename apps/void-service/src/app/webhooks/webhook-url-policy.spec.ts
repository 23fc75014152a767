import { addressKind, checkWebhookUrl, forbiddenAddress, WebhookUrlPolicy } from './webhook-url-policy';

const strict: WebhookUrlPolicy = { allowInsecureLoopback: false, allowPrivateAddresses: false };
const tests: WebhookUrlPolicy = { allowInsecureLoopback: true, allowPrivateAddresses: false };
const refusal = (policy: WebhookUrlPolicy, url: string) => {
  const checked = checkWebhookUrl(policy, url);
  return checked.ok ? 'OK' : checked.code;
};

describe('webhook URL policy', () => {
  it('tells loopback, private, link-local, reserved and public addresses apart, IPv4-mapped ones as IPv4', () => {
    expect(addressKind('127.0.0.1')).toBe('loopback');
    expect(addressKind('127.9.9.9')).toBe('loopback');
    expect(addressKind('::1')).toBe('loopback');
    expect(addressKind('10.1.2.3')).toBe('private');
    expect(addressKind('172.31.255.255')).toBe('private');
    expect(addressKind('172.32.0.1')).toBe('public');
    expect(addressKind('192.168.1.1')).toBe('private');
    expect(addressKind('100.64.0.1')).toBe('private');
    expect(addressKind('fd00::1')).toBe('private');
    expect(addressKind('169.254.169.254')).toBe('link-local');
    expect(addressKind('fe80::1')).toBe('link-local');
    expect(addressKind('0.0.0.0')).toBe('reserved');
    expect(addressKind('224.0.0.1')).toBe('reserved');
    expect(addressKind('::ffff:10.0.0.1')).toBe('private');
    expect(addressKind('::ffff:7f00:1')).toBe('loopback');
    expect(addressKind('93.184.216.34')).toBe('public');
    expect(addressKind('2606:4700::1111')).toBe('public');
  });

  it('accepts https to a public host, and refuses other schemes', () => {
    expect(refusal(strict, 'https://pos.example.com/hooks?shop=1')).toBe('OK');
    expect(refusal(strict, 'https://93.184.216.34:8443/hook')).toBe('OK');
    expect(refusal(strict, 'http://pos.example.com/hooks')).toBe('WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    expect(refusal(strict, 'ftp://pos.example.com/hooks')).toBe('WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    expect(refusal(tests, 'http://pos.example.com/hooks')).toBe('WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    expect(refusal(tests, 'file:///etc/passwd')).toBe('WEBHOOK_URL_SCHEME_NOT_ALLOWED');
  });

  it('refuses credentials in the URL, fragments, and what is not an absolute URL', () => {
    expect(refusal(strict, 'https://user:pass@pos.example.com/hooks')).toBe('WEBHOOK_URL_CREDENTIALS');
    expect(refusal(strict, 'https://user@pos.example.com/hooks')).toBe('WEBHOOK_URL_CREDENTIALS');
    expect(refusal(strict, 'https://pos.example.com/hooks#x')).toBe('WEBHOOK_URL_INVALID');
    expect(refusal(strict, '/hooks')).toBe('WEBHOOK_URL_INVALID');
    expect(refusal(strict, `https://pos.example.com/${'a'.repeat(2048)}`)).toBe('WEBHOOK_URL_INVALID');
  });

  it('refuses loopback unless allowed, and then allows http to it', () => {
    expect(refusal(strict, 'https://127.0.0.1/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(strict, 'https://localhost/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(strict, 'http://127.0.0.1:8080/hook')).toBe('WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    expect(refusal(tests, 'http://127.0.0.1:8080/hook')).toBe('OK');
    expect(refusal(tests, 'http://localhost:8080/hook')).toBe('OK');
    expect(refusal(tests, 'http://[::1]:8080/hook')).toBe('OK');
    // Other spellings of loopback are normalised by the URL parser first.
    expect(refusal(strict, 'https://2130706433/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(strict, 'https://0x7f.1/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
  });

  it('refuses private addresses unless allowed, link-local and reserved ones always', () => {
    expect(refusal(strict, 'https://10.0.0.5/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(strict, 'https://[::ffff:192.168.0.1]/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal({ ...strict, allowPrivateAddresses: true }, 'https://10.0.0.5/hook')).toBe('OK');
    const everything: WebhookUrlPolicy = { allowInsecureLoopback: true, allowPrivateAddresses: true };
    expect(refusal(everything, 'https://169.254.169.254/latest/meta-data')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(everything, 'https://[fe80::1]/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(refusal(everything, 'https://0.0.0.0/hook')).toBe('WEBHOOK_URL_ADDRESS_FORBIDDEN');
    expect(forbiddenAddress(everything, '169.254.169.254')).toMatch(/link-local/);
    expect(forbiddenAddress(strict, '93.184.216.34')).toBeUndefined();
  });
});
