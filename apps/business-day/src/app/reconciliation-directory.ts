import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseReconciliationFile, ReconciliationFile } from './reconciliation-csv';

/**
 * Every reconciliation file (对账单) the clearing service has written under `<dir>/<clearing date>/`
 * for the given clearing dates, read from disk. Files are found by listing, not by rebuilding a
 * name from a batch id; which batches a file covers is read from the file itself.
 */
export async function readReconciliationFiles(dir: string, clearingDates: Iterable<string>): Promise<ReconciliationFile[]> {
  const files: ReconciliationFile[] = [];
  for (const date of new Set(clearingDates)) {
    const dateDir = join(dir, date);
    let names: string[];
    try {
      names = await readdir(dateDir, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    // Clearing writes each file aside and renames it into place, so a *.csv is always whole.
    for (const name of names.filter((n) => n.endsWith('.csv')).sort()) {
      const path = join(dateDir, name);
      files.push(parseReconciliationFile(path, await readFile(path, 'utf8')));
    }
  }
  return files;
}
