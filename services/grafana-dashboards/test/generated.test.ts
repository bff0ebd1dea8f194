// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Grafana variable syntax in expected URLs
/**
 * The generated files as Grafana loads them: the committed dist/ is exactly a fresh build, every
 * dashboard has the SDK's schema version and unique panel ids, and every panel, target and query
 * variable points at the provisioned Infinity datasource with the backend parser.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Dashboard, defaultDashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { trafficByIpVersion, trafficByTimeOfDay } from '@kansoku/flows';
import { defineQuery, TimeRangeParams } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDashboard, DashboardDefinitionError, type DomainDashboard } from '../src/dashboard.ts';
import { DEFAULT_OPTIONS, DIST_DIR, GenerateOptionError, renderDist } from '../src/generate.ts';
import { GATEWAY_DATASOURCE_UID, INFINITY_TYPE } from '../src/infinity.ts';
import { barChart, row, timeseries } from '../src/panels.ts';
import { allDashboards } from '../src/registry.ts';
import { customVariable, ipVersionVariable, stepVariable } from '../src/variables.ts';
import { allPanels, dataPanels, provisionedDatasources, targetsOf, variablesOf } from './grafana.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const dashboards = [...renderDist().entries()]
  .filter(([path]) => path.startsWith('dashboards/'))
  .map(([path, text]) => ({ path, dashboard: JSON.parse(text) as Dashboard }));

describe('generated Grafana files', () => {
  it('the committed dist/ is a fresh build with the default options', () => {
    const fresh = renderDist(DEFAULT_OPTIONS);
    const committed = new Map(
      filesUnder(DIST_DIR).map((path) => [relative(DIST_DIR, path), readFileSync(path, 'utf8')]),
    );
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, text] of fresh) {
      expect(
        committed.get(path),
        `${path} differs: run pnpm --filter @kansoku/grafana-dashboards build`,
      ).toBe(text);
    }
  });

  it('provisions the Infinity datasource with the token from Grafana’s environment, sent to the gateway only', () => {
    const [datasource, ...others] = provisionedDatasources();
    expect(others).toEqual([]);
    expect(datasource).toMatchObject({
      type: INFINITY_TYPE,
      uid: GATEWAY_DATASOURCE_UID,
      url: 'http://127.0.0.1:8080',
      jsonData: { allowedHosts: ['http://127.0.0.1:8080'], httpHeaderName1: 'Authorization' },
      secureJsonData: { httpHeaderValue1: 'Bearer ${KANSOKU_GRAFANA_TOKEN}' },
    });
    // No token value anywhere in dist/.
    for (const path of filesUnder(DIST_DIR)) expect(readFileSync(path, 'utf8')).not.toMatch(/Bearer [^$]/);

    const custom = renderDist({ gatewayUrl: 'https://gw.noc.example:8443/', dashboardsDir: '/srv/dash' });
    const ds = parse(custom.get('provisioning/datasources/kansoku.yaml') ?? '').datasources[0];
    expect(ds.url).toBe('https://gw.noc.example:8443');
    expect(ds.jsonData.allowedHosts).toEqual(['https://gw.noc.example:8443']);
    const provider = parse(custom.get('provisioning/dashboards/kansoku.yaml') ?? '').providers[0];
    expect(provider).toMatchObject({ type: 'file', options: { path: '/srv/dash' }, allowUiUpdates: false });
    expect(() => renderDist({ ...DEFAULT_OPTIONS, gatewayUrl: 'gateway:8080' })).toThrow(GenerateOptionError);
    expect(() => renderDist({ ...DEFAULT_OPTIONS, dashboardsDir: 'relative/dir' })).toThrow(
      GenerateOptionError,
    );
  });

  it('writes the overview and every domain dashboard, each under its uid', () => {
    expect(dashboards.map((d) => d.path).sort()).toEqual(
      allDashboards()
        .map((d) => `dashboards/${d.uid}.json`)
        .sort(),
    );
    expect(dashboards.map((d) => d.dashboard.uid)).toContain('kansoku-flows');
    expect(dashboards.map((d) => d.dashboard.uid)).toContain('kansoku-overview');
  });

  describe.each(dashboards)('$path', ({ dashboard }) => {
    it('has the SDK’s schema version, a uid, a title and the kansoku tag', () => {
      expect(dashboard.schemaVersion).toBe(defaultDashboard().schemaVersion);
      expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{8,40}$/);
      expect(dashboard.title).toMatch(/^Kansoku · /);
      expect(dashboard.tags).toContain('kansoku');
    });

    it('has unique panel ids, rows included, and panels inside the 24-column grid without overlap', () => {
      const panels = allPanels(dashboard);
      const ids = panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id) && (id ?? 0) > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      const cells = new Set<string>();
      for (const panel of panels) {
        const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
        expect(x >= 0 && w > 0 && x + w <= 24, `panel ${panel.id} x=${x} w=${w}`).toBe(true);
        for (let cx = x; cx < x + w; cx++) {
          for (let cy = y; cy < y + h; cy++) {
            const cell = `${cx},${cy}`;
            expect(cells.has(cell), `panel ${panel.id} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
      }
    });

    it('points every panel, target and query variable at the provisioned Infinity datasource', () => {
      const uids = new Set(provisionedDatasources().map((d) => d.uid));
      const panels = dataPanels(dashboard);
      expect(panels.length).toBeGreaterThan(0);
      for (const panel of panels) {
        expect(panel.datasource, panel.title).toEqual({ type: INFINITY_TYPE, uid: GATEWAY_DATASOURCE_UID });
        expect(uids.has(panel.datasource?.uid ?? '')).toBe(true);
        expect(panel.description?.length ?? 0, `${panel.title} needs a description`).toBeGreaterThan(40);
        const targets = targetsOf(panel);
        expect(targets.length).toBeGreaterThan(0);
        for (const target of targets) {
          expect(target).toMatchObject({
            datasource: { type: INFINITY_TYPE, uid: GATEWAY_DATASOURCE_UID },
            type: 'json',
            source: 'url',
            parser: 'backend',
            root_selector: 'rows',
          });
          expect(target.url).toMatch(/^\/api\/v1\/[a-z0-9-]+\/[a-z0-9-]+\?/);
          expect(target.columns.length).toBeGreaterThan(0);
          expect(Object.keys(target)).not.toContain('_implementsDataqueryVariant');
        }
      }
      for (const variable of variablesOf(dashboard).filter((v) => v.type === 'query')) {
        expect(variable.datasource).toEqual({ type: INFINITY_TYPE, uid: GATEWAY_DATASOURCE_UID });
        expect(variable.query).toMatchObject({ queryType: 'infinity', infinityQuery: { parser: 'backend' } });
      }
    });

    it('drills down only to generated dashboards, setting variables they have', () => {
      for (const panel of dataPanels(dashboard)) {
        for (const override of panel.fieldConfig?.overrides ?? []) {
          for (const property of override.properties.filter((p) => p.id === 'links')) {
            for (const link of property.value as { url: string }[]) {
              const match = /^\/d\/([A-Za-z0-9_-]+)\?var-([A-Za-z0-9_]+)=\$\{__value\.raw\}&/.exec(link.url);
              expect(match, link.url).not.toBeNull();
              const target = dashboards.find((d) => d.dashboard.uid === match?.[1])?.dashboard;
              expect(target, link.url).toBeDefined();
              expect(variablesOf(target as Dashboard).map((v) => v.name)).toContain(match?.[2]);
            }
          }
        }
      }
    });

    it('gives every panel drawing bits, packets or shares a unit', () => {
      for (const panel of dataPanels(dashboard)) {
        const units = [
          panel.fieldConfig?.defaults?.unit,
          ...(panel.fieldConfig?.overrides ?? []).flatMap((o) =>
            o.properties.filter((p) => p.id === 'unit').map((p) => p.value as string),
          ),
        ].filter(Boolean);
        const reads = targetsOf(panel).flatMap((t) => t.columns.map((c) => c.selector));
        if (reads.some((c) => /bps|pps|bytes|share/.test(c)))
          expect(units.length, panel.title).toBeGreaterThan(0);
      }
    });
  });
});

describe('the builder refuses what Grafana would only show as a broken panel', () => {
  const base = (panels: DomainDashboard['rows'][number]['panels'], variables = [stepVariable()]) =>
    buildDashboard({
      uid: 'test-dashboard',
      title: 't',
      description: 'd',
      tags: [],
      variables,
      rows: [row('r', panels)],
    });
  const series = (params: Record<string, string | number>) =>
    timeseries({
      title: 'p',
      description: 'd',
      source: { query: trafficByIpVersion, params, columns: [{ name: 'time', type: 'time' }] },
    });

  it('binds variables to the parameters the query takes, unless the panel sets them', () => {
    const built = base([series({}), series({ step: 3600 })], [stepVariable(), ipVersionVariable()]);
    const urls = dataPanels(built).map((p) => targetsOf(p)[0]?.url);
    expect(urls).toEqual([
      '/api/v1/flows/traffic-by-ip-version?from=${__from}&to=${__to}&step=${step}&${ip_version}',
      '/api/v1/flows/traffic-by-ip-version?from=${__from}&to=${__to}&step=3600&${ip_version}',
    ]);
  });

  it('names the mistake', () => {
    expect(() => base([series({ stepp: 60 })])).toThrow(/takes no parameter "stepp"/);
    expect(() => base([series({ from: 0 })])).toThrow(/follows the dashboard's range/);
    const needsLimit = defineQuery({
      domain: 'test',
      name: 'needs-limit',
      summary: 's',
      description: 'd',
      params: Type.Object({ ...TimeRangeParams, limit: Type.Integer({ minimum: 1 }) }),
      run: async () => ({ columns: [], rows: [] }),
    });
    expect(() =>
      base([
        timeseries({
          title: 'p',
          description: 'd',
          source: { query: needsLimit, columns: [{ name: 'time', type: 'time' }] },
        }),
      ]),
    ).toThrow(DashboardDefinitionError);
    expect(() => base([series({ exporter: '${router}' })])).toThrow(/\$\{router\} is not a variable/);
    expect(() =>
      base([
        barChart({
          title: 'b',
          description: 'd',
          xField: 'slot',
          source: { query: trafficByTimeOfDay, columns: [{ name: 'bps', type: 'number' }] },
        }),
      ]),
    ).toThrow(/"slot" is not one of its columns/);
    expect(() =>
      buildDashboard({ uid: 'x', title: 't', description: 'd', tags: [], variables: [], rows: [] }),
    ).toThrow(/uid/);
  });

  it('refuses variables whose values the parameter would refuse', () => {
    // All as an empty ip_version would be a 400: it must be pair-encoded.
    const bareIpVersion = customVariable({
      name: 'ipv',
      label: 'IP',
      description: 'd',
      param: 'ip_version',
      includeAll: true,
      options: [{ text: 'IPv4', value: '4' }],
    });
    expect(() => base([series({})], [stepVariable(), bareIpVersion])).toThrow(/refuses an empty value/);
    const fineStep = customVariable({
      name: 'step',
      label: 'Step',
      description: 'd',
      param: 'step',
      options: [{ text: '30s', value: '30' }],
    });
    expect(() => base([series({})], [fineStep])).toThrow(/option "30s" \(30\) is refused/);
    const badPair = { ...ipVersionVariable(), options: [{ text: 'IPv4', value: '4' }] };
    expect(() => base([series({})], [stepVariable(), badPair])).toThrow(/must be ip_version=<value>/);
    const badVersion = { ...ipVersionVariable(), options: [{ text: 'IPv5', value: 'ip_version=5' }] };
    expect(() => base([series({})], [stepVariable(), badVersion])).toThrow(/"IPv5" \(5\) is refused/);
  });
});
