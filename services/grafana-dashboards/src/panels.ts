/**
 * Panel specifications: "a panel that draws gateway query X with params Y", as plain typed data.
 * `buildDashboard` (dashboard.ts) renders them with the SDK, numbers them and binds variables.
 */
import type { QueryDefinition } from '@kansoku/kit';

/** Grafana unit ids Kansoku panels use most. `percentunit` reads 0–1 as a percentage. */
export type KnownUnit =
  | 'bps'
  | 'pps'
  | 'Bps'
  | 'reqps'
  | 'ops'
  | 'percent'
  | 'percentunit'
  | 'bytes'
  | 'decbytes'
  | 'short'
  | 's'
  | 'ms'
  | 'µs'
  | 'dtdurations'
  | 'none';

/** Any Grafana unit id; the known ones autocomplete. */
export type Unit = KnownUnit | (string & {});

export type ColumnType = 'time' | 'number' | 'string';

/** A column of the gateway's answer that the panel reads. */
export interface PanelColumn {
  name: string;
  type: ColumnType;
  /** Unit of this column when it differs from the panel's unit (tables mix units). */
  unit?: Unit;
  /** Header or legend text; the column name when absent. */
  displayName?: string;
  /**
   * Clicking a cell of this column opens a dashboard (this one or another) with one variable set to
   * the cell's value: click an exporter, the flows dashboard shows that exporter alone.
   */
  drillDown?: { dashboardUid: string; variable: string };
}

/** A value of a gateway parameter: a literal, or a Grafana expression such as `${__from}`. */
export type ParamValue = string | number;

/** What a panel draws: one gateway query, its parameters and the columns read from its rows. */
export interface PanelSource {
  /** The query definition the domain registers (from its queries.ts). */
  query: QueryDefinition;
  /**
   * Parameters besides from/to (always the dashboard's range). Parameters not set here are filled
   * by the dashboard's variables bound to them (exporter, ip_version, step, timezone); the rest
   * keep the query's defaults.
   */
  params?: Record<string, ParamValue>;
  /**
   * Parameters the dashboard's variables must leave alone (the query's default applies): e.g. a
   * panel comparing IP versions ignores the IP version filter.
   */
  unbound?: string[];
  columns: PanelColumn[];
}

interface PanelBase {
  title: string;
  /** What the NOC reads from the panel; shown on hover of the (i). */
  description: string;
  source: PanelSource;
  /** Unit of the panel's values. */
  unit?: Unit;
  decimals?: number;
  /** Grid width in columns (of 24); 12 by default. */
  width?: number;
  /** Grid height in rows; 8 by default. */
  height?: number;
  /**
   * A relative range of this panel's own, e.g. `7d` for a week profile whatever the dashboard shows;
   * Grafana then sends that range as ${__from}/${__to}.
   */
  timeFrom?: string;
}

export interface TimeseriesPanel extends PanelBase {
  kind: 'timeseries';
  /** Stack the series (normal), or as shares of 100 % (percent). */
  stack?: 'normal' | 'percent';
  /** Bars instead of lines (daily volumes). */
  bars?: boolean;
  /** Fill opacity 0–100; 10 by default (lines), 80 for bars. */
  fillOpacity?: number;
}

export type StatReducer = 'lastNotNull' | 'mean' | 'max' | 'min' | 'sum';

export interface StatPanel extends PanelBase {
  kind: 'stat';
  /** How rows reduce to the single value; the last value by default. */
  reducer?: StatReducer;
  /** Draw the series behind the number (needs a time column). */
  sparkline?: boolean;
}

export interface BarChartPanel extends PanelBase {
  kind: 'barchart';
  /** The string (or number) column along the category axis. */
  xField: string;
  horizontal?: boolean;
  stack?: 'normal' | 'percent';
}

export interface PiePanel extends PanelBase {
  kind: 'pie';
  /** The column naming each slice. */
  labelField: string;
  /** The number column sizing each slice. */
  valueField: string;
  donut?: boolean;
}

export interface TablePanel extends PanelBase {
  kind: 'table';
  /** Column to sort by, descending unless `sortAscending`. */
  sortBy?: string;
  sortAscending?: boolean;
}

export type PanelSpec = TimeseriesPanel | StatPanel | BarChartPanel | PiePanel | TablePanel;

type Without<T> = Omit<T, 'kind'>;

export const timeseries = (spec: Without<TimeseriesPanel>): TimeseriesPanel => ({
  kind: 'timeseries',
  ...spec,
});
export const stat = (spec: Without<StatPanel>): StatPanel => ({ kind: 'stat', ...spec });
export const barChart = (spec: Without<BarChartPanel>): BarChartPanel => ({ kind: 'barchart', ...spec });
export const pie = (spec: Without<PiePanel>): PiePanel => ({ kind: 'pie', ...spec });
export const table = (spec: Without<TablePanel>): TablePanel => ({ kind: 'table', ...spec });

/** A row of panels; collapsed rows keep their panels inside (Grafana loads them when opened). */
export interface RowSpec {
  title: string;
  collapsed?: boolean;
  panels: PanelSpec[];
}

export const row = (title: string, panels: PanelSpec[], options: { collapsed?: boolean } = {}): RowSpec => ({
  title,
  panels,
  ...options,
});
