/**
 * Builds docs/errors.md, the published catalogue of HTTP error codes, from the code's own catalogue
 * (libs/contracts HttpErrorCatalogue), which is the only type service-runtime's ApiError accepts.
 * tools/contracts/generate-errors-doc.spec.ts checks the committed file against this output.
 *
 *   npx ts-node --transpile-only -P tsconfig.integration.json -r tsconfig-paths/register tools/contracts/generate-errors-doc.ts
 *   (add --check to fail instead of writing when the file is stale)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP_ERROR_CODES, HttpErrorCatalogue, HttpErrorCode } from '@pos/contracts';

export const ERRORS_DOC_PATH = join(__dirname, '..', '..', 'docs', 'errors.md');

const SERVICE_NAMES = { payment: 'payment', void: 'void', clearing: 'clearing' } as const;

function whereOf(code: HttpErrorCode): string {
  const where = HttpErrorCatalogue[code].where;
  return where === 'any request' ? 'any request' : where.map((service) => SERVICE_NAMES[service]).join(', ');
}

const row = (code: HttpErrorCode) => `| \`${code}\` | ${HttpErrorCatalogue[code].status} | ${whereOf(code)} | ${HttpErrorCatalogue[code].meaning.replace(/\|/g, '\\|')} |`;

export function renderErrorsDoc(): string {
  const byStatus = [...HTTP_ERROR_CODES].sort((a, b) => HttpErrorCatalogue[a].status - HttpErrorCatalogue[b].status || a.localeCompare(b));
  return [
    '# HTTP error codes',
    '',
    '<!-- Generated from libs/contracts/src/lib/http-errors.ts by tools/contracts/generate-errors-doc.ts; do not edit by hand. -->',
    '',
    'Every error answer of the payment, void and clearing APIs is JSON:',
    '',
    '    { "code": "AMOUNT_TOO_LARGE", "message": "…", "details": { "field": "amountFen" } }',
    '',
    '`code` is one of the codes below and always comes with the status given here; `message` is for',
    'people and may change; `details` is present only where a code says so. This includes what no route',
    'sees: a request line or headers Node cannot parse, a body the JSON parser refuses, an unknown route.',
    'Each route of `/v1/openapi.json` lists, per status, exactly the codes it can answer; the services',
    "can raise no code that is not in this table (it is the type of service-runtime's `ApiError`).",
    '',
    'A malformed payment id in a path is `400 INVALID_PAYMENT_ID` on every service; an unknown one is',
    '`404 PAYMENT_NOT_FOUND`. Void rejection reasons (`ALREADY_CLEARED`, …) are not errors: they are',
    'decisions, answered 200 with `decision: REJECTED` (listed in docs/asyncapi.json).',
    '',
    '| code | status | where | meaning |',
    '|---|---|---|---|',
    ...byStatus.map(row),
    '',
  ].join('\n');
}

if (require.main === module) {
  const text = renderErrorsDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(ERRORS_DOC_PATH, 'utf8') !== text) {
      console.error(`${ERRORS_DOC_PATH} is stale: run tools/contracts/generate-errors-doc.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(ERRORS_DOC_PATH, text);
    console.log(`wrote ${ERRORS_DOC_PATH}`);
  }
}
