/**
 * The overview page's files as the gateway serves them: types, caching headers, CSP, 304s, and
 * that every file the page loads (script imports included) is one the gateway serves.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStaticFiles, OVERVIEW_STATIC_DIR, overviewPage } from '../../src/overview/overview.ts';

describe('overview page files', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    await app.register(overviewPage);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the page at / with a same-origin-only policy', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    expect(res.body).toContain('<script type="module" src="overview/overview.js">');
  });

  it('answers 304 to a matching ETag and the full file to a stale one', async () => {
    const first = await app.inject({ url: '/overview/overview.js' });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await app.inject({ url: '/overview/overview.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const stale = await app.inject({ url: '/overview/overview.js', headers: { 'if-none-match': '"old"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(first.body);
  });

  it('serves scripts and styles with their types, and nothing else', async () => {
    expect((await app.inject({ url: '/overview/charts.js' })).headers['content-type']).toBe(
      'text/javascript; charset=utf-8',
    );
    expect((await app.inject({ url: '/overview/overview.css' })).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    for (const url of ['/overview/nope.js', '/overview/..%2Foverview.ts', '/overview/%2e%2e%2fapp.ts']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('serves every file the page and its modules load, and loads nothing from elsewhere', () => {
    const files = loadStaticFiles(OVERVIEW_STATIC_DIR);
    const texts = [...files.entries()].map(([name, f]) => [name, f.body.toString('utf8')] as const);
    for (const [name, text] of texts) {
      const references = [
        ...[...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? ''),
        ...[...text.matchAll(/from '(\.\/[^']+)'/g)].map((m) => m[1] ?? ''),
        ...[...text.matchAll(/import\('(\.\/[^']+)'\)/g)].map((m) => m[1] ?? ''),
      ];
      for (const ref of references) {
        if (ref.startsWith('data:') || ref === 'docs') continue;
        expect(ref, `${name} loads ${ref}`).not.toMatch(/^(https?:)?\/\//);
        expect(ref, `${name} loads ${ref} from the root: breaks under a proxy's path prefix`).not.toMatch(
          /^\//,
        );
        const served = ref.replace(/^overview\//, '').replace(/^\.\//, '');
        expect(files.has(served), `${name} loads ${ref}, which is not served`).toBe(true);
      }
    }
  });
});

/**
 * The page's modules are plain JavaScript for the browser; the pure parts run in Node too. Imported
 * by URL so the TypeScript program (no allowJs) does not try to type them.
 */
// biome-ignore lint/suspicious/noExplicitAny: untyped browser modules
const pageModule = (name: string): Promise<any> =>
  import(new URL(`../../src/overview/static/${name}`, import.meta.url).href);

describe('overview page helpers', () => {
  it('formats rates, bytes and shares as the NOC reads them', async () => {
    const { formatValue, formatPercent, formatStep } = await pageModule('format.js');
    expect(formatValue(0, 'bps')).toBe('0 bps');
    expect(formatValue(999, 'bps')).toBe('999 bps');
    expect(formatValue(17_333.33, 'bps')).toBe('17.3 kbps');
    expect(formatValue(999_600, 'bps')).toBe('1 Mbps');
    expect(formatValue(1.25e10, 'bps')).toBe('12.5 Gbps');
    expect(formatValue(58_500_000, 'bytes')).toBe('58.5 MB');
    expect(formatValue(0.04, 'percentunit')).toBe('4.0%');
    expect(formatValue(60_500, '')).toBe('60.5 k');
    expect(formatPercent(Number.NaN)).toBe('–');
    expect(formatStep(300)).toBe('5 min');
    expect(formatStep(3600)).toBe('1 h');
  });

  it('puts axis ticks on round values at or above the data', async () => {
    const { niceTicks, timeTicks } = await pageModule('charts.js');
    expect(niceTicks(17_333)).toEqual([0, 5000, 10_000, 15_000, 20_000]);
    expect(niceTicks(0.1667)).toEqual([0, 0.05, 0.1, 0.15, 0.2]);
    expect(niceTicks(0)).toEqual([0, 1]);
    // Three-hourly ticks over a day, on round Tokyo hours (UTC+9), not round UTC ones.
    const from = Date.UTC(2026, 0, 5, 0, 10);
    const ticks: number[] = timeTicks(from, from + 86_400_000, 'Asia/Tokyo', 8);
    expect(ticks.length).toBeGreaterThanOrEqual(7);
    for (const t of ticks) expect(new Date(t + 9 * 3_600_000).getUTCHours() % 3).toBe(0);
    expect(ticks[0]).toBe(Date.UTC(2026, 0, 5, 3));
    // Asia/Kolkata is UTC+5:30: ticks on its round hours fall on UTC half hours.
    const india: number[] = timeTicks(from, from + 6 * 3_600_000, 'Asia/Kolkata', 6);
    for (const t of india) expect(new Date(t).getUTCMinutes()).toBe(30);
  });

  it('fills buckets the rollups have no row for with zero, per series', async () => {
    const { seriesFromRows } = await pageModule('panels.js');
    const result = {
      columns: [],
      rows: [
        { time: 0, ip_version: 'IPv4', bps: 10 },
        { time: 60_000, ip_version: 'IPv6', bps: 1 },
        { time: 180_000, ip_version: 'IPv4', bps: 30 },
      ],
    };
    const series: Map<string, Array<[number, number]>> = seriesFromRows(result, 'ip_version', 'bps', 60_000);
    expect([...series.keys()]).toEqual(['IPv4', 'IPv6']);
    expect(series.get('IPv4')).toEqual([
      [0, 10],
      [60_000, 0],
      [120_000, 0],
      [180_000, 30],
    ]);
    expect(series.get('IPv6')).toEqual([
      [0, 0],
      [60_000, 1],
      [120_000, 0],
      [180_000, 0],
    ]);
  });

  it('reads the alerting module’s alerts/firing rows, labels given as JSON text', async () => {
    const { firingAlerts } = await pageModule('alerts.js');
    const alerts = firingAlerts({
      columns: [],
      rows: [
        {
          fingerprint: 'f1',
          alertname: 'ExporterSilent',
          severity: 'warning',
          labels: '{"alertname":"ExporterSilent","exporter":"192.0.2.1"}',
          summary: 'no flows for 5 minutes',
          startsAt: 1_700_000_000_000,
          value: 0,
          source: 'detection',
          description: '',
        },
        { alertname: 'Broken', severity: 'info', labels: 'not json', startsAt: 0, value: null },
      ],
    });
    expect(alerts).toEqual([
      {
        name: 'ExporterSilent',
        severity: 'warning',
        summary: 'no flows for 5 minutes',
        since: 1_700_000_000_000,
        value: 0,
        source: 'detection',
        labels: { alertname: 'ExporterSilent', exporter: '192.0.2.1' },
      },
      {
        name: 'Broken',
        severity: 'info',
        summary: '',
        since: undefined,
        value: undefined,
        source: '',
        labels: {},
      },
    ]);
  });
});
