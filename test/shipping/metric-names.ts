/**
 * The metric names the controller and the edge expose (fixed by the design). Dashboards and
 * alerts may use only these, so a typo in a query shows up as a test failure instead of an empty
 * panel or an alert that can never fire.
 */
const COUNTERS_AND_GAUGES = [
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_retries_total',
  'leader_election_master_status',
  'hotdesk_devices',
  'hotdesk_sessions_active',
  'hotdesk_logins_total',
  'hotdesk_logouts_total',
  'hotdesk_provisioning_renders_total',
  'hotdesk_devices_resync_pending',
  'sip_requests_total',
  'sip_responses_total',
  'hotdesk_feature_codes_total',
  'hotdesk_pin_failures_total',
  'hotdesk_lockouts_total',
  'hotdesk_blocked_calls_total',
  'hotdesk_emergency_calls_total',
  'provisioning_requests_total',
  'sip_parse_errors_total',
  'sip_framing_errors_total',
  'sip_rate_limited_total',
  'sip_overload_rejections_total',
  'sip_connections_refused_total',
  'sip_transactions',
  'sip_transaction_bytes',
  'sip_connections',
  'hotdesk_edge_rtp_relayed_packets_total',
  'hotdesk_edge_rtp_relay_dropped_total',
  'hotdesk_edge_rtp_relays',
  // Written by Prometheus itself for every target.
  'up',
];

const HISTOGRAMS = [
  'controller_runtime_reconcile_time_seconds',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'hotdesk_session_duration_seconds',
  'hotdesk_login_duration_seconds',
  'hotdesk_login_reregister_seconds',
];

export const KNOWN_METRICS: ReadonlySet<string> = new Set([
  ...COUNTERS_AND_GAUGES,
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'absent', 'and', 'or', 'unless',
  'vector', 'time', 'topk', 'bottomk', 'clamp_min', 'clamp_max', 'label_values', 'offset', 'bool', 'group',
]);

/**
 * The metric names a PromQL expression refers to: identifiers that are not functions, keywords,
 * label names inside braces or by(...) lists, strings or durations.
 */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutMatchers = withoutStrings.replace(/\{[^}]*\}/g, '{}');
  const withoutGrouping = withoutMatchers.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  const withoutRanges = withoutGrouping.replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const m of withoutRanges.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    if (PROMQL_WORDS.has(word)) continue;
    names.add(word);
  }
  return [...names];
}
