import { paymentStatusOf, renderBatchStory } from './trace';

describe('renderBatchStory', () => {
  it('shows totals beyond 2^53 fen exactly, as the contract carries them', () => {
    const text = renderBatchStory({
      batchId: 'M1:WECHAT:20261127T000000+0800',
      status: 'CLOSED',
      totals: { paymentCount: 2, totalFen: '18014398509481983', voidedCount: 1, voidedFen: 1_999, settlementDate: '2026-11-30' },
      events: [],
    });
    expect(text).toContain('closed with 2 payments, 180143985094819.83 CNY (18014398509481983 fen); 1 voided, 19.99 CNY (1999 fen)');
  });
});

describe('paymentStatusOf', () => {
  it('keeps a void or a clearing final', () => {
    expect(paymentStatusOf(['pos.payment.requested', 'pos.payment.succeeded', 'pos.void.accepted', 'pos.void.executed', 'pos.void.confirmed'])).toBe('VOIDED');
    expect(paymentStatusOf(['pos.payment.succeeded', 'pos.clearing.payment.cleared', 'pos.void.accepted'])).toBe('CLEARED');
  });

  it('shows a void its channel refused, and the clearing that follows it', () => {
    expect(paymentStatusOf(['pos.payment.succeeded', 'pos.void.accepted', 'pos.void.channel-refused'])).toBe('VOID_REFUSED');
    expect(paymentStatusOf(['pos.payment.succeeded', 'pos.void.accepted', 'pos.void.channel-refused', 'pos.clearing.payment.cleared'])).toBe('CLEARED');
  });
});
