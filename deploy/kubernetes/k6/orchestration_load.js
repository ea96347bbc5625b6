// mockdet load suite: k6 script for a detector orchestrator.
//
// Runs ONE scenario, chosen by K6_TEST_TYPE (smoke | load | stress), against
// the orchestrator at PERF_BASE_URL. Each iteration makes one weighted
// choice: 70 % single sync orchestrate, 20 % batch (ORCHESTRATION_PERF_BATCH_SIZE
// requests), 5 % async submit + status poll, 5 % health. Endpoints the target
// contract lacks (batch_path / status_path null) give their share to the
// single orchestrate request.
//
// The target contract (paths, headers, body shape, accepted statuses) is the
// seed's (CONTRACT.md §5) unless MOCKDET_PERF_CONTRACT names a JSON file;
// its "shape" picks a preset ("seed" or "api_v1") that the file's other keys
// override. Use an absolute path: k6 resolves relative paths against this
// script's directory, not the working directory.
//
// handleSummary writes k6's whole summary `data` as JSON to K6_SUMMARY_PATH
// (default k6-summary.json), plus a `mockdet` key recording the settings
// used, and prints a short text summary (no jslib: it is fetched over the
// network).
//
// Every variable and metric is documented in perf/README.md.

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

// ---------------------------------------------------------------- settings

const PRESETS = {
  seed: {
    shape: 'seed',
    orchestrate_path: '/orchestrate',
    batch_path: '/orchestrate/batch',
    status_path: '/orchestrate/status/{job_id}',
    health_path: '/health',
    tenant_header: 'X-Tenant-ID',
    success_statuses: [200, 206],
    async_statuses: [202],
    client_error_statuses: [400, 422],
    // A job id the orchestrator no longer knows (evicted) answers 404.
    status_ok_statuses: [200, 404],
    detectors: [
      'mock-success-detector',
      'mock-variable-detector',
      'mock-failing-detector',
      'mock-timeout-detector',
      'mock-batch-detector',
    ],
  },
  api_v1: {
    shape: 'api_v1',
    orchestrate_path: '/api/v1/orchestrate',
    batch_path: null,
    status_path: null,
    health_path: '/api/v1/health',
    tenant_header: 'X-Tenant-ID',
    success_statuses: [200],
    async_statuses: [],
    client_error_statuses: [400, 422],
    status_ok_statuses: [200, 404],
    detectors: [
      'mock-success-detector',
      'mock-variable-detector',
      'mock-failing-detector',
      'mock-timeout-detector',
      'mock-batch-detector',
    ],
  },
};

function env(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

function positiveInt(name, fallback) {
  const raw = env(name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a whole number >= 1, got "${raw}"`);
  }
  return value;
}

function fraction(name, fallback) {
  const raw = env(name, String(fallback));
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`${name} must be a number in [0, 1], got "${raw}"`);
  }
  return value;
}

function positiveNumber(name, fallback) {
  const raw = env(name, String(fallback));
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number > 0, got "${raw}"`);
  }
  return value;
}

// A k6 duration string ("500ms", "30s", "2m", "1h30m"; a bare number is
// seconds) in milliseconds.
function durationMs(name, fallback) {
  const raw = String(env(name, fallback)).trim();
  if (/^\d+(\.\d+)?$/.test(raw)) {
    return Math.round(Number(raw) * 1000);
  }
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let part;
  while ((part = re.exec(raw)) !== null) {
    total += Number(part[1]) * unit[part[2]];
    consumed += part[0].length;
  }
  if (consumed !== raw.length || total <= 0) {
    throw new Error(`${name} must be a k6 duration such as 30s, 2m or 1m30s, got "${raw}"`);
  }
  return Math.round(total);
}

function statusList(contract, key) {
  const list = contract[key];
  if (!Array.isArray(list) || list.some((s) => !Number.isInteger(s))) {
    throw new Error(`contract: "${key}" must be a list of HTTP status codes`);
  }
  return list;
}

function loadContract() {
  const path = env('MOCKDET_PERF_CONTRACT', '');
  let file = {};
  if (path) {
    try {
      file = JSON.parse(open(path));
    } catch (e) {
      throw new Error(`MOCKDET_PERF_CONTRACT=${path}: ${e}`);
    }
  }
  const shape = file.shape || 'seed';
  if (!PRESETS[shape]) {
    throw new Error(`contract: "shape" must be "seed" or "api_v1", got "${shape}"`);
  }
  const contract = Object.assign({}, PRESETS[shape], file, { shape });
  for (const key of ['success_statuses', 'async_statuses', 'client_error_statuses', 'status_ok_statuses']) {
    statusList(contract, key);
  }
  if (contract.success_statuses.length === 0) {
    throw new Error('contract: "success_statuses" must not be empty');
  }
  if (!contract.orchestrate_path || !contract.health_path) {
    throw new Error('contract: "orchestrate_path" and "health_path" are required');
  }
  if (!Array.isArray(contract.detectors) || contract.detectors.length === 0) {
    throw new Error('contract: "detectors" must be a non-empty list of detector names');
  }
  return contract;
}

const CONTRACT = loadContract();
const BASE_URL = env('PERF_BASE_URL', 'http://localhost:8000').replace(/\/+$/, '');
const TENANT = env('ORCHESTRATION_PERF_TENANT_ID', 'perf-tenant');
const API_KEY = env('ORCHESTRATION_PERF_API_KEY', 'test-key');
const API_KEY_HEADER = env('ORCHESTRATION_PERF_API_KEY_HEADER', 'X-API-Key');
const POLICY_BUNDLE = env('ORCHESTRATION_POLICY_BUNDLE', 'default');
const BATCH_SIZE = positiveInt('ORCHESTRATION_PERF_BATCH_SIZE', 5);
const TEST_TYPE = env('K6_TEST_TYPE', 'smoke');
const SCENARIO_LABEL = env('PERF_SCENARIO', TEST_TYPE);
const P95_MS = positiveNumber('K6_P95_MS', 2000);
const SUCCESS_RATE = fraction('K6_SUCCESS_RATE', 0.95);
const SUMMARY_PATH = env('K6_SUMMARY_PATH', 'k6-summary.json');
const GRACEFUL_STOP = env('K6_GRACEFUL_STOP', '10s');
const STATUS_POLLS = 3;

// ---------------------------------------------------------------- scenarios

function ms(n) {
  return `${Math.max(1, Math.round(n))}ms`;
}

// Smoke: constant VUs. Load: ramp up (20 %), steady (60 %), ramp down (20 %).
// Stress: to half the target (20 %), to the target (20 %), hold (40 %), down.
function scenarioFor(type) {
  const common = { gracefulStop: GRACEFUL_STOP, tags: { test_type: type } };
  if (type === 'smoke') {
    return Object.assign({
      executor: 'constant-vus',
      vus: positiveInt('K6_SMOKE_VUS', 5),
      duration: ms(durationMs('K6_SMOKE_DURATION', '2m')),
    }, common);
  }
  if (type === 'load') {
    const vus = positiveInt('K6_LOAD_TARGET_VUS', 50);
    const total = durationMs('K6_LOAD_DURATION', '10m');
    return Object.assign({
      executor: 'ramping-vus',
      startVUs: 0,
      gracefulRampDown: GRACEFUL_STOP,
      stages: [
        { duration: ms(total * 0.2), target: vus },
        { duration: ms(total * 0.6), target: vus },
        { duration: ms(total * 0.2), target: 0 },
      ],
    }, common);
  }
  if (type === 'stress') {
    const vus = positiveInt('K6_STRESS_TARGET_VUS', 200);
    const total = durationMs('K6_STRESS_DURATION', '10m');
    return Object.assign({
      executor: 'ramping-vus',
      startVUs: 0,
      gracefulRampDown: GRACEFUL_STOP,
      stages: [
        { duration: ms(total * 0.2), target: Math.max(1, Math.ceil(vus / 2)) },
        { duration: ms(total * 0.2), target: vus },
        { duration: ms(total * 0.4), target: vus },
        { duration: ms(total * 0.2), target: 0 },
      ],
    }, common);
  }
  throw new Error(`K6_TEST_TYPE must be smoke, load or stress, got "${type}"`);
}

const thresholds = {};
thresholds[`http_req_duration{scenario:${TEST_TYPE}}`] = [`p(95)<${P95_MS}`];
thresholds.orchestration_success = [`rate>=${SUCCESS_RATE}`];

export const options = {
  scenarios: { [TEST_TYPE]: scenarioFor(TEST_TYPE) },
  thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

// ---------------------------------------------------------------- metrics

const ENDPOINTS = ['orchestrate', 'batch', 'async', 'status', 'health'];
const latency = {};
const requests = {};
const failures = {};
for (const name of ENDPOINTS) {
  latency[name] = new Trend(`latency_${name}`, true);
  requests[name] = new Counter(`requests_${name}`);
  failures[name] = new Counter(`failures_${name}`);
}
// Orchestration requests (single, batch, async submit) that got a success
// status; health and status polls are not orchestrations.
const orchestrationSuccess = new Rate('orchestration_success');
const partialCoverage = new Counter('partial_coverage');
const rateLimited = new Counter('rate_limited');
const serverErrors = new Counter('server_errors');
const batchItems = new Counter('batch_items');
const batchItemFailures = new Counter('batch_item_failures');
const statusNotFound = new Counter('status_not_found');

http.setResponseCallback(
  http.expectedStatuses(...new Set(CONTRACT.success_statuses.concat(CONTRACT.async_statuses))),
);

// ---------------------------------------------------------------- payloads

const DOCUMENT = (() => {
  const paragraph = 'Section 4.2 of the services agreement sets out the data retention policy. '
    + 'Customer records are kept for seven years, audit logs for three, and backups are '
    + 'encrypted at rest. Incidents are reported to the data protection officer within 72 hours. ';
  let text = 'Quarterly compliance review\n\n';
  while (text.length < 5000) {
    text += paragraph;
  }
  return text.slice(0, 5120);
})();

const PAYLOADS = [
  { kind: 'clean_text', content_type: 'text',
    content: 'The quarterly report shows steady growth across all regions and no open incidents.' },
  { kind: 'pii_text', content_type: 'text',
    content: 'Contact Jane Doe at jane.doe@example.com or +1-555-867-5309. '
      + 'Card on file: 4111 1111 1111 1111, exp 12/29. SSN 123-45-6789.' },
  { kind: 'code_secret', content_type: 'code',
    content: 'const API_KEY = "sk_live_51H8xQ2eZvKYlo2C9a8b7c6d5";\n'
      + 'const query = "SELECT * FROM users WHERE name = \'" + name + "\' OR \'1\'=\'1\'";\n'
      + 'db.execute(query);\n' },
  { kind: 'document', content_type: 'document', content: DOCUMENT },
];

const PRIORITIES = ['normal', 'normal', 'normal', 'high', 'critical'];
const V1_MODES = ['standard', 'fast', 'thorough', 'comprehensive'];

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// One orchestration body in the contract's shape.
function body(mode, endpoint) {
  const payload = pick(PAYLOADS);
  if (CONTRACT.shape === 'api_v1') {
    return {
      content: payload.content,
      detector_types: CONTRACT.detectors,
      processing_mode: pick(V1_MODES),
      policy_bundle: POLICY_BUNDLE,
    };
  }
  return {
    content: payload.content,
    content_type: payload.content_type,
    tenant_id: TENANT,
    policy_bundle: POLICY_BUNDLE,
    environment: 'perf',
    processing_mode: mode,
    priority: pick(PRIORITIES),
    metadata: {
      source: 'k6',
      scenario: SCENARIO_LABEL,
      endpoint,
      payload: payload.kind,
      vu: __VU,
      iteration: __ITER,
    },
  };
}

let sequence = 0;

function params(endpoint, extraHeaders) {
  sequence += 1;
  const headers = Object.assign({
    'Content-Type': 'application/json',
    'X-Correlation-ID': `k6-${__VU}-${__ITER}-${sequence}`,
  }, extraHeaders || {});
  headers[API_KEY_HEADER] = API_KEY;
  headers[CONTRACT.tenant_header || 'X-Tenant-ID'] = TENANT;
  return { headers, tags: { endpoint, name: endpoint } };
}

// ---------------------------------------------------------------- recording

function json(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// Coverage below 1 in a success reply (api_v1 answers 200 for partial).
function isPartial(res, parsed) {
  if (res.status === 206) {
    return true;
  }
  const reply = parsed && (parsed.data || parsed);
  return !!reply && typeof reply.coverage_achieved === 'number' && reply.coverage_achieved < 1;
}

// Records one response under `endpoint`; returns whether it succeeded.
// Counters get a 0 rather than nothing so they are in the summary whenever
// their endpoint was called.
function record(endpoint, res, ok, countsAsOrchestration) {
  requests[endpoint].add(1);
  latency[endpoint].add(res.timings.duration);
  failures[endpoint].add(ok ? 0 : 1);
  rateLimited.add(res.status === 429 ? 1 : 0, { endpoint });
  serverErrors.add(res.status >= 500 || res.status === 0 ? 1 : 0, { endpoint });
  if (countsAsOrchestration) {
    orchestrationSuccess.add(ok, { endpoint });
  }
  return ok;
}

// ---------------------------------------------------------------- requests

function singleOrchestrate() {
  // Every tenth request carries an Idempotency-Key, as clients retrying would.
  const extra = Math.random() < 0.1 ? { 'Idempotency-Key': `k6-${__VU}-${__ITER}-${Date.now()}` } : {};
  const res = http.post(`${BASE_URL}${CONTRACT.orchestrate_path}`,
    JSON.stringify(body('sync', 'orchestrate')), params('orchestrate', extra));
  const ok = CONTRACT.success_statuses.includes(res.status);
  check(res, { 'orchestrate: status is a success status': () => ok });
  partialCoverage.add(ok && isPartial(res, json(res)) ? 1 : 0, { endpoint: 'orchestrate' });
  record('orchestrate', res, ok, true);
}

function batchOrchestrate() {
  const items = [];
  for (let i = 0; i < BATCH_SIZE; i += 1) {
    items.push(body('sync', 'batch'));
  }
  const res = http.post(`${BASE_URL}${CONTRACT.batch_path}`,
    JSON.stringify({ requests: items }), params('batch'));
  const parsed = json(res);
  const results = parsed && Array.isArray((parsed.data || parsed).results) ? (parsed.data || parsed).results : null;
  const statusOk = CONTRACT.success_statuses.includes(res.status);
  const complete = results !== null && results.length === BATCH_SIZE;
  check(res, {
    'batch: status is a success status': () => statusOk,
    'batch: one result per request': () => complete,
  });
  if (results) {
    batchItems.add(results.length);
    for (const item of results) {
      const code = item && (item.status_code || item.status);
      const failed = Number.isInteger(code) && !CONTRACT.success_statuses.includes(code);
      batchItemFailures.add(failed ? 1 : 0);
      partialCoverage.add(!failed && isPartial({ status: code }, item) ? 1 : 0, { endpoint: 'batch' });
    }
  }
  record('batch', res, statusOk && complete, true);
}

function asyncOrchestrate() {
  const res = http.post(`${BASE_URL}${CONTRACT.orchestrate_path}`,
    JSON.stringify(body('async', 'async')), params('async'));
  const accepted = CONTRACT.async_statuses.includes(res.status);
  const ok = accepted || CONTRACT.success_statuses.includes(res.status);
  check(res, { 'async: status is accepted or a success status': () => ok });
  record('async', res, ok, true);
  const parsed = json(res);
  const jobId = parsed && (parsed.job_id || (parsed.data && parsed.data.job_id));
  if (!accepted || !jobId) {
    return;
  }
  const url = `${BASE_URL}${CONTRACT.status_path.replace('{job_id}', encodeURIComponent(jobId))}`;
  for (let poll = 0; poll < STATUS_POLLS; poll += 1) {
    sleep(0.5);
    const p = params('status');
    p.responseCallback = http.expectedStatuses(...CONTRACT.status_ok_statuses);
    const status = http.get(url, p);
    const statusOk = CONTRACT.status_ok_statuses.includes(status.status);
    check(status, { 'status: job status answered': () => statusOk });
    record('status', status, statusOk, false);
    statusNotFound.add(status.status === 404 ? 1 : 0);
    const job = json(status);
    if (status.status !== 200 || !job || (job.status && !['running', 'pending', 'queued'].includes(job.status))) {
      return;
    }
  }
}

function health() {
  const p = params('health');
  delete p.headers['Content-Type'];
  const res = http.get(`${BASE_URL}${CONTRACT.health_path}`, p);
  const ok = res.status === 200;
  check(res, { 'health: status is 200': () => ok });
  record('health', res, ok, false);
}

// Puts every counter in the summary, even for endpoints a short run never
// drew (trends cannot take a neutral sample, so they stay absent).
export function setup() {
  for (const name of ENDPOINTS) {
    requests[name].add(0);
    failures[name].add(0);
  }
  for (const counter of [partialCoverage, rateLimited, serverErrors, batchItems, batchItemFailures, statusNotFound]) {
    counter.add(0);
  }
}

// Weighted mix; a missing endpoint's share goes to the single request.
const MIX = [
  [0.05, CONTRACT.status_path ? asyncOrchestrate : singleOrchestrate],
  [0.05, health],
  [0.20, CONTRACT.batch_path ? batchOrchestrate : singleOrchestrate],
  [0.70, singleOrchestrate],
];

export default function () {
  let draw = Math.random();
  for (const [weight, run] of MIX) {
    if (draw < weight) {
      run();
      break;
    }
    draw -= weight;
  }
  sleep(0.5 + Math.random() * 0.5);
}

// ---------------------------------------------------------------- summary

function fmt(value, unit) {
  if (typeof value !== 'number') {
    return '-';
  }
  return unit === 'ms' ? `${value.toFixed(1)}ms` : String(Math.round(value * 1000) / 1000);
}

function textSummary(data) {
  const lines = [`mockdet k6 summary (${TEST_TYPE}, ${CONTRACT.shape} contract, ${BASE_URL})`];
  const metrics = data.metrics || {};
  for (const name of Object.keys(metrics).sort()) {
    const m = metrics[name];
    const v = m.values || {};
    let text;
    if (m.type === 'trend') {
      const unit = m.contains === 'time' ? 'ms' : '';
      text = ['avg', 'p(50)', 'p(95)', 'p(99)', 'max']
        .map((k) => `${k}=${fmt(v[k], unit)}`).join(' ') + ` count=${fmt(v.count)}`;
    } else if (m.type === 'rate') {
      text = `${(100 * (v.rate || 0)).toFixed(2)}% (${v.passes || 0} of ${(v.passes || 0) + (v.fails || 0)})`;
    } else if (m.type === 'counter') {
      text = `${fmt(v.count)} (${fmt(v.rate)}/s)`;
    } else {
      text = Object.keys(v).map((k) => `${k}=${fmt(v[k])}`).join(' ');
    }
    const marks = Object.keys(m.thresholds || {})
      .map((t) => `${m.thresholds[t].ok ? 'PASS' : 'FAIL'} ${t}`);
    lines.push(`  ${name}: ${text}${marks.length ? `  [${marks.join('; ')}]` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export function handleSummary(data) {
  data.mockdet = {
    test_type: TEST_TYPE,
    base_url: BASE_URL,
    batch_size: BATCH_SIZE,
    tenant_id: TENANT,
    policy_bundle: POLICY_BUNDLE,
    p95_ms: P95_MS,
    success_rate: SUCCESS_RATE,
    contract: CONTRACT,
    load_model: 'closed',
  };
  return {
    [SUMMARY_PATH]: JSON.stringify(data, null, 2),
    stdout: textSummary(data),
  };
}
