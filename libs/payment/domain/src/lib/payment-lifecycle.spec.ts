import fc from 'fast-check';
import { ChannelOutcome } from './channel-gateway';
import { canTransition, decideFact, decideOutcome, decideVoidRefused, PAYMENT_STATUSES, PaymentStatus } from './payment-lifecycle';

const success: ChannelOutcome = { kind: 'SUCCESS', channelTradeNo: 'WX1' };
const fresh = { pendingExpired: false };

describe('decideOutcome', () => {
  it.each<[PaymentStatus, ChannelOutcome, string]>([
    ['PROCESSING', success, 'succeed'],
    ['PENDING', success, 'succeed'],
    ['PROCESSING', { kind: 'DECLINED', reason: 'DECLINED' }, 'fail'],
    ['PENDING', { kind: 'DECLINED', reason: 'USER_CANCELLED' }, 'fail'],
    ['PROCESSING', { kind: 'USERPAYING' }, 'pending'],
    ['PENDING', { kind: 'USERPAYING' }, 'still-pending'],
    ['PROCESSING', { kind: 'TIMEOUT' }, 'reverse'],
    ['PENDING', { kind: 'TIMEOUT' }, 'reverse'],
  ])('%s + %o -> %s', (status, outcome, kind) => {
    expect(decideOutcome(status, outcome, fresh).kind).toBe(kind);
  });

  it('reverses a customer who keeps paying past the limit', () => {
    expect(decideOutcome('PENDING', { kind: 'USERPAYING' }, { pendingExpired: true })).toMatchObject({ kind: 'reverse', reason: expect.stringMatching(/USERPAYING_EXPIRED/) });
  });

  it('ignores any answer once the payment is resolved (a late or duplicate answer changes nothing)', () => {
    const outcomes = fc.constantFrom<ChannelOutcome>(success, { kind: 'DECLINED', reason: 'DECLINED' }, { kind: 'USERPAYING' }, { kind: 'TIMEOUT' });
    const resolved = fc.constantFrom<PaymentStatus>('SUCCEEDED', 'FAILED', 'REVERSED', 'VOIDED', 'CLEARED', 'SETTLED');
    fc.assert(fc.property(resolved, outcomes, fc.boolean(), (status, outcome, expired) => {
      expect(decideOutcome(status, outcome, { pendingExpired: expired })).toEqual({ kind: 'stale' });
    }));
  });

  it('only ever leads to a state the transition table allows', () => {
    const target: Record<string, PaymentStatus | undefined> = { succeed: 'SUCCEEDED', fail: 'FAILED', pending: 'PENDING', reverse: 'REVERSED' };
    const outcomes = fc.constantFrom<ChannelOutcome>(success, { kind: 'DECLINED', reason: 'DECLINED' }, { kind: 'USERPAYING' }, { kind: 'TIMEOUT' });
    fc.assert(fc.property(fc.constantFrom(...PAYMENT_STATUSES), outcomes, fc.boolean(), (status, outcome, expired) => {
      const next = target[decideOutcome(status, outcome, { pendingExpired: expired }).kind];
      if (next) expect(canTransition(status, next)).toBe(true);
    }));
  });
});

describe('decideFact', () => {
  it.each<[PaymentStatus, 'VOIDED' | 'CLEARED' | 'SETTLED', string]>([
    ['SUCCEEDED', 'VOIDED', 'apply'],
    ['SUCCEEDED', 'CLEARED', 'apply'],
    ['CLEARED', 'SETTLED', 'apply'],
    ['VOIDED', 'VOIDED', 'already'],
    ['CLEARED', 'CLEARED', 'already'],
    ['SETTLED', 'CLEARED', 'already'],
    ['SETTLED', 'SETTLED', 'already'],
    ['CLEARED', 'VOIDED', 'refuse'],
    ['SETTLED', 'VOIDED', 'refuse'],
    ['VOIDED', 'CLEARED', 'hold'],
    ['PENDING', 'VOIDED', 'refuse'],
    ['FAILED', 'CLEARED', 'refuse'],
    ['SUCCEEDED', 'SETTLED', 'refuse'],
  ])('%s + %s -> %s', (status, fact, kind) => {
    expect(decideFact(status, fact).kind).toBe(kind);
  });

  it('never lets a payment be both voided and cleared', () => {
    expect(decideFact('CLEARED', 'VOIDED')).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(/never both/) });
    expect(decideFact('VOIDED', 'CLEARED')).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/never both/) });
  });
});

describe('decideVoidRefused', () => {
  it.each<[PaymentStatus, string]>([
    ['VOIDED', 'apply'],
    ['SUCCEEDED', 'already'],
    ['CLEARED', 'already'],
    ['SETTLED', 'already'],
    ['PENDING', 'refuse'],
    ['FAILED', 'refuse'],
    ['REVERSED', 'refuse'],
    ['PROCESSING', 'refuse'],
  ])('%s -> %s', (status, kind) => {
    expect(decideVoidRefused(status).kind).toBe(kind);
  });

  it('leads only where the transition table allows', () => {
    expect(canTransition('VOIDED', 'SUCCEEDED')).toBe(true);
  });
});
