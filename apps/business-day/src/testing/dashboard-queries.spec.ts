import { alertQueries, dashboardQueries, exposedNames, metricNamesIn, readAlertRules, readDashboard } from './dashboard-queries';

describe('metric names in PromQL', () => {
  it('finds the selected metrics, not functions, keywords, labels, strings, ranges or numbers', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (job, route, le) (rate(pos_http_request_duration_seconds_bucket{job=~"$job",route!="x_y"}[5m])))')).toEqual([
      'pos_http_request_duration_seconds_bucket',
    ]);
    expect(metricNamesIn('sum by (group, topic) (max by (group, topic, partition) (pos_kafka_consumer_lag)) > 1000')).toEqual(['pos_kafka_consumer_lag']);
    expect(metricNamesIn('rate(a_total[1m]) / on (instance) group_left (job) b_info and c unless d offset 5m')).toEqual(['a_total', 'b_info', 'c', 'd']);
    expect(metricNamesIn('max(pos_clearing_batches_awaiting_voids) > 1e3')).toEqual(['pos_clearing_batches_awaiting_voids']);
  });

  it("reads every panel's, variable's and alert's query from the repository's files", () => {
    const dashboard = dashboardQueries(readDashboard());
    expect(dashboard.length).toBeGreaterThanOrEqual(20);
    expect(dashboard).toContainEqual({ panel: 'variable job', expr: 'pos_http_request_duration_seconds_count' });
    for (const { panel, expr } of dashboard) expect({ panel, names: metricNamesIn(expr).length > 0 }).toEqual({ panel, names: true });
    const alerts = alertQueries(readAlertRules());
    expect(alerts.map((a) => a.panel)).toContain('alert ClearingBatchAwaitingVoids');
    expect(alerts.find((a) => a.panel === 'alert ClearingBatchAwaitingVoids')?.expr).toBe('max(pos_clearing_batches_awaiting_voids) > 0');
  });

  it('takes the exposed names from the TYPE lines, with the series names of histograms', () => {
    const names = exposedNames(['# HELP a_seconds x', '# TYPE a_seconds histogram', '# TYPE b_total counter', 'b_total 3', 'c_orphan 1'].join('\n'));
    expect([...names].sort()).toEqual(['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total']);
  });
});
