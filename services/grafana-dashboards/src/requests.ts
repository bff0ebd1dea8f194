/**
 * The requests Grafana sends for a generated dashboard: each panel's Infinity URL with the range
 * (the panel's own `timeFrom` or the dashboard's) and the variables expanded as Grafana's template
 * service does for Infinity (the "glob" format; a custom all-value is inserted as it is). The
 * tests replay them against the gateway; load scripts can replay them too.
 */
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { InfinityTargetFields } from './infinity.ts';

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

export function variablesOf(dashboard: Dashboard): VariableModel[] {
  return dashboard.templating?.list ?? [];
}

/** Grafana's relative range (`now-24h`, `7d`) in milliseconds. */
export function relativeMs(text: string): number {
  const match = /^(?:now-)?(\d+)([mhdw])$/.exec(text);
  if (!match) throw new Error(`not a relative range: ${text}`);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 'm' | 'h' | 'd' | 'w'];
  return Number(match[1]) * unit;
}

/** Expands `${name}` and `${name:format}` with one selected value per variable. */
export function interpolate(url: string, values: Record<string, string>): string {
  return url.replace(/\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${url}`);
    return value;
  });
}

/** The value Grafana substitutes for a variable's initial selection. */
export function currentValue(variable: VariableModel): string {
  const value = variable.current?.value;
  if (value === '$__all') return variable.allValue ?? '';
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Every variable at the selection the dashboard opens with. */
export function initialSelection(dashboard: Dashboard): Record<string, string> {
  return Object.fromEntries(variablesOf(dashboard).map((v) => [v.name ?? '', currentValue(v)]));
}

export interface PanelRequest {
  panel: Panel;
  target: InfinityTargetFields;
  range: { from: number; to: number };
  /** Path and query string, relative to the gateway's base URL. */
  url: string;
}

/** The request of every target of every panel, ending at `now`. */
export function panelRequests(
  dashboard: Dashboard,
  options: { now: number; selection?: Record<string, string> },
): PanelRequest[] {
  const selection = options.selection ?? initialSelection(dashboard);
  const dashboardRange = relativeMs(dashboard.time?.from ?? 'now-6h');
  return dataPanels(dashboard).flatMap((panel) => {
    const range = {
      from: options.now - (panel.timeFrom ? relativeMs(panel.timeFrom) : dashboardRange),
      to: options.now,
    };
    return targetsOf(panel).map((target) => ({
      panel,
      target,
      range,
      url: interpolate(target.url, { ...selection, __from: String(range.from), __to: String(range.to) }),
    }));
  });
}
