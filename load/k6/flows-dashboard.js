// The flows dashboard's requests against a running gateway, for users who have k6
// (https://k6.io; not installed on the development machines: `pnpm bench gateway-load` runs the
// same scenario with autocannon there). Every panel of the flows board (all 12 flows queries) over
// the ranges a NOC picks (last 1h/6h/24h/7d/30d), with `to` = now at each request as a refreshing
// board sends it. The list mirrors load/src/gateway/flows-board.ts: keep the two alike.
//
//   KANSOKU_URL=http://127.0.0.1:8080 KANSOKU_TOKEN=<viewer token> k6 run load/k6/flows-dashboard.js
//   RATE=200 DURATION=60s k6 run load/k6/flows-dashboard.js
//
// Thresholds: p99 under 100 ms and no failed request (the goal of the gateway-load benchmark).
// The gateway limits each token to gateway.rateLimitPerMinute requests a minute (6000 by default):
// run the gateway with KANSOKU_GATEWAY_RATE_LIMIT_PER_MINUTE=0 (or a high limit) for a load test.
import { check } from 'k6';
import http from 'k6/http';
import { Counter } from 'k6/metrics';

const BASE = __ENV.KANSOKU_URL || 'http://127.0.0.1:8080';
const TOKEN = __ENV.KANSOKU_TOKEN || '';
const RATE = Number(__ENV.RATE || 200);
const DURATION = __ENV.DURATION || '60s';

export const options = {
  scenarios: {
    board: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      maxVUs: 400,
    },
  },
  thresholds: {
    http_req_duration: ['p(99)<100'],
    http_req_failed: ['rate==0'],
  },
};

const cacheOutcomes = new Counter('kansoku_cache_outcomes');

const HOUR = 3600000;
const DAY = 24 * HOUR;
const RANGES = [
  { label: '1h', ms: HOUR, step: 60, weight: 30 },
  { label: '6h', ms: 6 * HOUR, step: 60, weight: 25 },
  { label: '24h', ms: DAY, step: 300, weight: 25 },
  { label: '7d', ms: 7 * DAY, step: 3600, weight: 12 },
  { label: '30d', ms: 30 * DAY, step: 3600, weight: 8 },
];

// [query, parameters, time series (takes a step)]
const PANELS = [
  ['traffic-by-ip-version', {}, true],
  ['traffic-by-ip-version', {}, true],
  ['ipv6-share', {}, true],
  ['totals', {}, false],
  ['top-source-as', { ip_version: 6, limit: 10 }, false],
  ['top-source-as', { ip_version: 4, limit: 10 }, false],
  ['top-source-as', { limit: 20 }, false],
  ['top-source-as-series', { limit: 10 }, true],
  ['protocol-port-mix', { ip_version: 6, limit: 10 }, false],
  ['protocol-port-mix', { ip_version: 4, limit: 10 }, false],
  ['protocol-port-mix', { limit: 15 }, false],
  ['traffic-by-time-of-day', { days: 'weekdays', slot_minutes: 30 }, false],
  ['traffic-by-time-of-day', { days: 'weekends', slot_minutes: 30 }, false],
  ['traffic-by-weekday', { slot_minutes: 60 }, false],
  ['daily-volume', {}, false],
  ['top-interfaces', { limit: 20 }, false],
  ['top-talkers', { by: 'src', limit: 15 }, false],
  ['top-talkers', { by: 'dst', limit: 15 }, false],
  ['raw-flows', { limit: 100 }, false],
];

function pickRange() {
  const total = RANGES.reduce((sum, r) => sum + r.weight, 0);
  let x = Math.random() * total;
  for (const range of RANGES) {
    x -= range.weight;
    if (x < 0) return range;
  }
  return RANGES[RANGES.length - 1];
}

export default function () {
  const [query, params, series] = PANELS[Math.floor(Math.random() * PANELS.length)];
  const range = pickRange();
  const now = Date.now();
  const search = [`from=${now - range.ms}`, `to=${now}`];
  if (series) search.push(`step=${range.step}`);
  for (const key of Object.keys(params)) search.push(`${key}=${encodeURIComponent(params[key])}`);
  const res = http.get(`${BASE}/api/v1/flows/${query}?${search.join('&')}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    tags: { query, range: range.label },
  });
  check(res, { 'status is 200': (r) => r.status === 200 });
  cacheOutcomes.add(1, { outcome: res.headers['X-Kansoku-Cache'] || 'none' });
}
