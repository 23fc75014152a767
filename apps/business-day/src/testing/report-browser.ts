import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** Debian's chromium (tools/run.sh installs it before the integration tests); CHROMIUM_PATH overrides. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Headless, offline and without a profile of its own beyond a fresh user-data-dir. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface RenderedTable {
  readonly headers: string[];
  readonly rows: string[][];
}

/** What a reader of report.html sees, cell by cell, as the browser laid it out. */
export interface RenderedReport {
  /** Every <table> by its id. */
  readonly tables: Record<string, RenderedTable>;
  /** The text of every element with an id that is not a table (the verdict line, "(none)" sections). */
  readonly texts: Record<string, string>;
  /** Markup that would run: <script> elements in the page. */
  readonly scripts: number;
}

const trimmed = (texts: string[]) => texts.map((t) => t.trim());

/** Opens a report.html file in headless Chromium and reads its tables. */
export async function readReportInBrowser(htmlPath: string): Promise<RenderedReport> {
  const profile = mkdtempSync(join(tmpdir(), 'pos-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await context.newPage();
    await page.goto(pathToFileURL(htmlPath).href);
    const tables: Record<string, RenderedTable> = {};
    for (const table of await page.locator('table[id]').all()) {
      const rows: string[][] = [];
      for (const row of await table.locator('tbody tr').all()) rows.push(trimmed(await row.locator('td').allInnerTexts()));
      tables[String(await table.getAttribute('id'))] = { headers: trimmed(await table.locator('thead th').allInnerTexts()), rows };
    }
    const texts: Record<string, string> = {};
    for (const element of await page.locator('[id]:not(table)').all()) texts[String(await element.getAttribute('id'))] = (await element.innerText()).trim();
    return { tables, texts, scripts: await page.locator('script').count() };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
