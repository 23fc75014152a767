import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Words of PromQL that are not metric names where they stand outside a label matcher or label list. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: every identifier that is not a function (followed by
 * `(`), a keyword, or inside a string, a label matcher `{…}`, a range `[…]` or a label list of
 * `by`/`without`/`on`/`ignoring`/`group_*`.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const [word] = match;
    const after = stripped.slice((match.index ?? 0) + word.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(word.toLowerCase())) continue;
    // A number's exponent (1e3) or a duration's unit is not a name.
    const before = stripped[(match.index ?? 0) - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue;
    names.add(word);
  }
  return [...names];
}

export interface DashboardQuery {
  readonly panel: string;
  readonly expr: string;
}

interface Panel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

/** Every query of a Grafana dashboard: its panels' targets (rows' nested panels too) and its `label_values(metric, …)` variables. */
export function dashboardQueries(dashboard: { panels?: readonly Panel[]; templating?: { list?: readonly { name?: string; definition?: string }[] } }): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: readonly Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) if (target.expr) queries.push({ panel: panel.title ?? '(untitled)', expr: target.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const metric = /^label_values\(\s*([^,)\s]+)/.exec(variable.definition ?? '')?.[1];
    if (metric) queries.push({ panel: `variable ${variable.name}`, expr: metric });
  }
  return queries;
}

/** The `expr:` lines of a Prometheus rules file (one expression per line, as tools/observability/alerts.yml writes them). */
export function alertQueries(rules: string): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  let alert = '(unnamed)';
  for (const line of rules.split('\n')) {
    const name = /^\s*-\s*alert:\s*(\S+)/.exec(line)?.[1];
    if (name) alert = name;
    const expr = /^\s*expr:\s*(.+)$/.exec(line)?.[1];
    if (expr) queries.push({ panel: `alert ${alert}`, expr: expr.trim() });
  }
  return queries;
}

export const OBSERVABILITY_DIR = join('tools', 'observability');

export function readDashboard(workspaceRoot = process.cwd()): Parameters<typeof dashboardQueries>[0] {
  return JSON.parse(readFileSync(join(workspaceRoot, OBSERVABILITY_DIR, 'grafana', 'pos-dashboard.json'), 'utf8'));
}

export function readAlertRules(workspaceRoot = process.cwd()): string {
  return readFileSync(join(workspaceRoot, OBSERVABILITY_DIR, 'alerts.yml'), 'utf8');
}

/**
 * The metric names a `/metrics` text exposes: each family of a `# TYPE` line (so families without
 * samples yet count), with a histogram's `_bucket`, `_sum` and `_count` and a summary's `_sum` and `_count`.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}
