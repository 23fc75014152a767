import { isCurrency } from './currency';

describe('isCurrency', () => {
  it('accepts CNY', () => {
    expect(isCurrency('CNY')).toBe(true);
  });

  it.each(['cny', 'RMB', 'CNH', 'USD', ' CNY', '', null, undefined, 156])('refuses %p', (value) => {
    expect(isCurrency(value)).toBe(false);
  });
});
