/** The only currency the acquiring contracts settle in; anything else is refused at the edge. */
export type Currency = 'CNY';

export function isCurrency(value: unknown): value is Currency {
  return value === 'CNY';
}
