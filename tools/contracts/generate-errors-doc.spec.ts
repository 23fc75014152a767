import { readFileSync } from 'node:fs';
import { HTTP_ERROR_CODES, HttpErrorCatalogue } from '@pos/contracts';
import { ERRORS_DOC_PATH, renderErrorsDoc } from './generate-errors-doc';

describe('the HTTP error catalogue (docs/errors.md)', () => {
  it('is what the generator produces from the catalogue now (regenerate with tools/contracts/generate-errors-doc.ts)', () => {
    expect(readFileSync(ERRORS_DOC_PATH, 'utf8')).toEqual(renderErrorsDoc());
  });

  it('gives every code an error status and a meaning', () => {
    for (const code of HTTP_ERROR_CODES) {
      const { status, meaning } = HttpErrorCatalogue[code];
      expect([code, status >= 400 && status <= 599]).toEqual([code, true]);
      expect(meaning.length).toBeGreaterThan(10);
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
    }
  });
});
