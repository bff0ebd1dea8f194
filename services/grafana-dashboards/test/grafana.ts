/**
 * What Grafana does with the generated files, as far as the tests need it: walk a dashboard's
 * panels, read the provisioned datasource, and expand `${variable}` in a URL as Grafana's template
 * service does for the Infinity datasource (the "glob" format, custom all-values unformatted).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { parse } from 'yaml';
import { DIST_DIR } from '../src/generate.ts';
import type { InfinityTargetFields } from '../src/infinity.ts';

export type AnyPanel = Panel | RowPanel;

/** Every panel, rows included, with the panels of collapsed rows. */
export function allPanels(dashboard: Dashboard): AnyPanel[] {
  const out: AnyPanel[] = [];
  for (const panel of dashboard.panels ?? []) {
    out.push(panel);
    if (panel.type === 'row') out.push(...((panel as RowPanel).panels ?? []));
  }
  return out;
}

/** Panels that draw data (not rows). */
export function dataPanels(dashboard: Dashboard): Panel[] {
  return allPanels(dashboard).filter((p): p is Panel => p.type !== 'row');
}

export function targetsOf(panel: Panel): InfinityTargetFields[] {
  return (panel.targets ?? []) as unknown as InfinityTargetFields[];
}

export interface ProvisionedDatasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export function provisionedDatasources(dir = DIST_DIR): ProvisionedDatasource[] {
  const text = readFileSync(join(dir, 'provisioning/datasources/kansoku.yaml'), 'utf8');
  return (parse(text) as { datasources: ProvisionedDatasource[] }).datasources;
}

/** Grafana's relative range (now-24h, 7d) in milliseconds. */
export function relativeMs(text: string): number {
  const match = /^(?:now-)?(\d+)([mhdw])$/.exec(text);
  if (!match) throw new Error(`not a relative range: ${text}`);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 'm' | 'h' | 'd' | 'w'];
  return Number(match[1]) * unit;
}

/**
 * Expands `${name}` and `${name:format}` as Grafana does for one selected value per variable.
 * Values are what Grafana substitutes: an option's value, or the variable's custom all-value.
 */
export function interpolate(url: string, values: Record<string, string>): string {
  return url.replace(/\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${url}`);
    return value;
  });
}

export function variablesOf(dashboard: Dashboard): VariableModel[] {
  return dashboard.templating?.list ?? [];
}

/** The value Grafana substitutes for a variable's initial selection. */
export function currentValue(variable: VariableModel): string {
  const value = variable.current?.value;
  if (value === '$__all') return variable.allValue ?? '';
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
