import fc from 'fast-check';
import { batchFileName, fileNamePart, merchantDayFileName, merchantDirectoryName } from './reconciliation-file-names';

describe('reconciliation file names', () => {
  it('gives terminals T:1 and T_1 (and merchants M.1 and M_1) files of their own', () => {
    const batch = (terminalId: string) => `M1:${terminalId}:000001:UNIONPAY_CARD:20261126T230000+0800`;
    expect(batchFileName(batch('T:1'))).not.toBe(batchFileName(batch('T_1')));
    expect(batchFileName(batch('T:1'))).toBe('batch_M1%3AT%3A1%3A000001%3AUNIONPAY_CARD%3A20261126T230000%2B0800.csv');
    expect(merchantDirectoryName('M.1')).not.toBe(merchantDirectoryName('M_1'));
    expect(merchantDayFileName('M:1', '2026-11-27')).toBe('merchant_M%3A1_2026-11-27.csv');
  });

  it('never names a path separator, a dot directory or a hidden file', () => {
    for (const id of ['.', '..', '../etc', 'a/b', 'a\\b', '.hidden', '\0', '商户']) {
      const name = merchantDirectoryName(id);
      expect(name).toMatch(/^[A-Za-z0-9_%-]+$/);
      expect(batchFileName(id)).toMatch(/^batch_[A-Za-z0-9_%-]+\.csv$/);
    }
    expect(merchantDirectoryName('商户')).toBe('%E5%95%86%E6%88%B7');
  });

  it('is injective: distinct ids never share a name, however long or odd (property)', () => {
    const id = fc.oneof(fc.stringMatching(/^[T:_1%.]{1,6}$/), fc.string({ maxLength: 8 }), fc.string({ minLength: 90, maxLength: 120 }));
    fc.assert(
      fc.property(id, id, (a, b) => {
        if (a !== b) {
          expect(batchFileName(a)).not.toBe(batchFileName(b));
          expect(merchantDirectoryName(a)).not.toBe(merchantDirectoryName(b));
          expect(merchantDayFileName(a, '2026-11-27')).not.toBe(merchantDayFileName(b, '2026-11-27'));
        }
      }),
      { numRuns: 2_000 },
    );
    // Decodable while short: the encoding is percent-encoding of the UTF-8 bytes.
    fc.assert(fc.property(fc.string({ maxLength: 20 }), (text) => expect(decodeURIComponent(fileNamePart(text))).toBe(text)));
  });

  it('keeps every name within 255 bytes, hashing an id whose encoding would not fit', () => {
    const long = ':'.repeat(200);
    const name = batchFileName(long);
    expect(name).toMatch(/^batch_sha256\.[0-9a-f]{64}\.csv$/);
    expect(batchFileName(long + ':')).not.toBe(name);
    expect(merchantDayFileName('M'.repeat(300), '2026-11-27').length).toBeLessThanOrEqual(255);
    expect(batchFileName('A'.repeat(245))).toBe(`batch_${'A'.repeat(245)}.csv`);
    expect(batchFileName('A'.repeat(246))).toMatch(/^batch_sha256\./);
  });
});
