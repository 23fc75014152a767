import { CliError, ExitCode } from './exit-codes';
import { parseOffset, parsePosition, parseTime } from './context';
import { brokerConnection } from './connection';
import { byEventTime, matches, MessageRecord } from './records';
import { filtersGiven, recordFilterOf } from './filters';
import { runCli } from './cli';
import { parseCredentialHash, verifyCredential } from '@pos/service-runtime';

const usage = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof CliError ? error.exitCode : 'other';
  }
  return 'no error';
};

describe('ops CLI arguments', () => {
  const now = new Date('2026-11-27T15:00:00Z');

  it('parses offsets, positions and times, and calls anything else a usage error', () => {
    expect(parseOffset('42')).toBe(42n);
    expect(usage(() => parseOffset('-1'))).toBe(ExitCode.usage);
    expect(parsePosition('1:42')).toEqual({ partition: 1, offset: '42' });
    expect(parsePosition('1/42')).toEqual({ partition: 1, offset: '42' });
    expect(usage(() => parsePosition('42'))).toBe(ExitCode.usage);
    expect(parseTime('15m', now)).toBe(now.getTime() - 15 * 60_000);
    expect(parseTime('2026-11-27T22:59:00+08:00', now)).toBe(Date.parse('2026-11-27T14:59:00Z'));
    expect(usage(() => parseTime('2026-11-27 22:59', now))).toBe(ExitCode.usage);
  });

  it('builds SASL and TLS connections and refuses incomplete ones', () => {
    expect(brokerConnection({ brokers: 'a:9092, b:9093' }).brokers).toEqual(['a:9092', 'b:9093']);
    expect(
      brokerConnection({ brokers: 'a:9093', ssl: true, saslMechanism: 'scram-sha-512', saslUsername: 'ops', saslPassword: 's3cret' }),
    ).toMatchObject({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'ops' } });
    expect(brokerConnection({ brokers: 'a:9093', sslInsecure: true })).toMatchObject({ ssl: true, tls: { rejectUnauthorized: false } });
    expect(usage(() => brokerConnection({ brokers: 'a:9093', saslUsername: 'ops' }))).toBe(ExitCode.usage);
    expect(usage(() => brokerConnection({ brokers: 'not a broker' }))).toBe(ExitCode.usage);
  });

  it('answers a bad command line with exit code 2 and help with 0', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t) };
    expect(await runCli(['nonsense'], io)).toBe(ExitCode.usage);
    expect(err.join('\n')).toMatch(/unknown command/);
    expect(await runCli(['--help'], io)).toBe(ExitCode.ok);
    expect(await runCli(['dlq', 'show', 'x'], io)).toBe(ExitCode.usage);
  });
});

describe('records', () => {
  const record = (over: Partial<MessageRecord>): MessageRecord => ({
    topic: 't', partition: 0, offset: '0', timestamp: '2026-11-27T15:00:00.000Z', key: 'M1', headers: {}, ...over,
  });

  it('filters by merchant, payment and type', () => {
    const r = record({ data: { merchantId: 'M1', paymentId: 'p1' }, event: { id: '1', type: 'pos.payment.succeeded', source: '/s', time: 'x', schemaVersion: 1 } });
    expect(matches(r, { merchant: 'M1', payment: 'p1', types: ['pos.payment.succeeded'] })).toBe(true);
    expect(matches(r, { merchant: 'M2' })).toBe(false);
    expect(matches(r, { types: ['pos.void.accepted'] })).toBe(false);
  });

  it('keeps messages written in [since, until), by their Kafka timestamp', () => {
    const at = (timestamp: string) => record({ timestamp });
    const window = { since: Date.parse('2026-11-27T14:59:00Z'), until: Date.parse('2026-11-27T15:01:00Z') };
    expect(matches(at('2026-11-27T14:58:59.999Z'), window)).toBe(false);
    expect(matches(at('2026-11-27T14:59:00.000Z'), window)).toBe(true);
    expect(matches(at('2026-11-27T15:00:59.999Z'), window)).toBe(true);
    expect(matches(at('2026-11-27T15:01:00.000Z'), window)).toBe(false);
  });

  it('orders by event time across topics, then by where Kafka put it', () => {
    const at = (time: string, topic: string) =>
      record({ topic, event: { id: topic, type: 'x', source: '/s', time, schemaVersion: 1 } });
    const sorted = [at('2026-11-27T23:00:00+08:00', 'b'), at('2026-11-27T14:59:59Z', 'a')].sort(byEventTime);
    expect(sorted.map((r) => r.topic)).toEqual(['a', 'b']);
  });
});

describe('the filters tail and dlq share', () => {
  const now = new Date('2026-11-27T15:00:00Z');

  it('turns the command line into one filter: times in either form, types split on commas', () => {
    expect(recordFilterOf({ merchant: 'M1', type: 'pos.void.accepted, pos.void.rejected', since: '2h', until: '2026-11-27T22:30:00+08:00' }, now)).toEqual({
      merchant: 'M1',
      types: ['pos.void.accepted', 'pos.void.rejected'],
      since: Date.parse('2026-11-27T13:00:00Z'),
      until: Date.parse('2026-11-27T14:30:00Z'),
    });
    expect(recordFilterOf({}, now)).toEqual({});
    expect(filtersGiven({ merchant: 'M1', until: '1h' })).toEqual(['--merchant', '--until']);
  });

  it('calls an empty window, an empty type list or a bad time a usage error', () => {
    expect(usage(() => recordFilterOf({ since: '1h', until: '2h' }, now))).toBe(ExitCode.usage);
    expect(usage(() => recordFilterOf({ since: '1h', until: '1h' }, now))).toBe(ExitCode.usage);
    expect(usage(() => recordFilterOf({ type: ' , ' }, now))).toBe(ExitCode.usage);
    expect(usage(() => recordFilterOf({ until: 'tomorrow' }, now))).toBe(ExitCode.usage);
  });
});

describe('supervisor hash', () => {
  it('hashes the credential on standard input into a SUPERVISOR_CREDENTIALS entry that verifies it', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => undefined, readInput: async () => '246810\n' };
    expect(await runCli(['supervisor', 'hash', '--merchant', 'M100', '--operator', 'OP9'], io)).toBe(ExitCode.ok);
    const [entry] = out;
    expect(entry).toMatch(/^M100\/OP9:scrypt\$N=32768:r=8:p=1\$/);
    const stored = parseCredentialHash(entry.slice('M100/OP9:'.length));
    expect(await verifyCredential('246810', stored)).toBe(true);
    expect(await verifyCredential('246810\n', stored)).toBe(false);
  });

  it('refuses an empty credential and a merchant without its operator', async () => {
    const io = { out: () => undefined, err: () => undefined, readInput: async () => '' };
    expect(await runCli(['supervisor', 'hash'], io)).toBe(ExitCode.usage);
    expect(await runCli(['supervisor', 'hash', '--merchant', 'M100'], { ...io, readInput: async () => '246810' })).toBe(ExitCode.usage);
  });
});
