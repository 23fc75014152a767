import { ReconciliationSummary } from './observation';

/** RFC 4180 fields of one line (the clearing service quotes fields with separators or quotes). */
function fieldsOf(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}

/**
 * Reads a batch's reconciliation file (对账单) as an operator's tool would: PAYMENT lines by status,
 * and the BATCH_TOTAL line the file states for the batch.
 */
export function summariseReconciliation(path: string, batchId: string, csv: string): ReconciliationSummary {
  const lines = csv.split(/\r?\n/).filter(Boolean).map(fieldsOf);
  const header = lines[0] ?? [];
  const amountAt = header.indexOf('amount_fen');
  const statusAt = header.indexOf('status');
  let clearedRows = 0;
  let clearedFen = 0;
  let voidedRows = 0;
  let statedCount = -1;
  let statedFen = -1;
  for (const fields of lines) {
    if (fields[0] === 'PAYMENT' && fields[1] === batchId) {
      if (fields[statusAt] === 'VOIDED') voidedRows++;
      else {
        clearedRows++;
        clearedFen += Number(fields[amountAt]);
      }
    } else if (fields[0] === 'BATCH_TOTAL' && fields[1] === batchId) {
      statedCount = Number(fields[2]);
      statedFen = Number(fields[3]);
    }
  }
  return { path, clearedRows, clearedFen, voidedRows, statedCount, statedFen };
}
