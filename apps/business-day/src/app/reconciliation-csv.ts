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

/** One payment line of a reconciliation file. */
export interface ReconciliationLine {
  readonly batchId: string;
  readonly paymentId: string;
  readonly amountFen: number;
  readonly voided: boolean;
}

export interface StatedTotals {
  readonly paymentCount: number;
  readonly totalFen: number;
  readonly voidedCount: number;
  readonly voidedFen: number;
}

/** A reconciliation file (对账单) as read from disk: its lines and the totals it states per batch. */
export interface ReconciliationFile {
  readonly path: string;
  readonly lines: readonly ReconciliationLine[];
  readonly batchTotals: ReadonlyMap<string, StatedTotals>;
  /** A merchant's day file states a DAY_TOTAL over several batches; a batch's own file does not. */
  readonly dayFile: boolean;
}

/**
 * Reads a reconciliation file as an operator's tool would: PAYMENT lines by the columns their
 * header names, and the BATCH_TOTAL lines of the summary section. Nothing of clearing's code is
 * used to read it.
 */
export function parseReconciliationFile(path: string, csv: string): ReconciliationFile {
  const rows = csv.split(/\r?\n/).filter(Boolean).map(fieldsOf);
  const header = rows[0] ?? [];
  const column = (name: string) => {
    const at = header.indexOf(name);
    if (at < 0) throw new Error(`${path}: no ${name} column in ${header.join(',')}`);
    return at;
  };
  const [batchAt, paymentAt, amountAt, statusAt] = ['batch_id', 'payment_id', 'amount_fen', 'status'].map(column);
  const lines: ReconciliationLine[] = [];
  const batchTotals = new Map<string, StatedTotals>();
  let dayFile = false;
  for (const fields of rows) {
    if (fields[0] === 'PAYMENT') {
      lines.push({ batchId: fields[batchAt], paymentId: fields[paymentAt], amountFen: Number(fields[amountAt]), voided: fields[statusAt] === 'VOIDED' });
    } else if (fields[0] === 'BATCH_TOTAL') {
      const [paymentCount, totalFen, voidedCount, voidedFen] = fields.slice(2, 6).map(Number);
      batchTotals.set(fields[1], { paymentCount, totalFen, voidedCount, voidedFen });
    } else if (fields[0] === 'DAY_TOTAL') {
      dayFile = true;
    }
  }
  return { path, lines, batchTotals, dayFile };
}
