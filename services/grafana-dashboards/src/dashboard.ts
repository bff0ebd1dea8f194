/**
 * A domain's dashboard as data (`DomainDashboard`) and its rendering with the foundation SDK:
 * panel ids, grid layout, Infinity targets with gateway URLs, and variables bound to parameters.
 * Rendering checks what Grafana would only show as a broken panel: a parameter the query does not
 * take, a required parameter left unbound, a `${variable}` the dashboard does not define.
 */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as statPanel from '@grafana/grafana-foundation-sdk/stat';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import * as timeseriesPanel from '@grafana/grafana-foundation-sdk/timeseries';
import type { QueryDefinition } from '@kansoku/kit';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { GATEWAY_DATASOURCE, type InfinityColumn, InfinityTarget, targetBuilder } from './infinity.ts';
import type { PanelSource, PanelSpec, RowSpec } from './panels.ts';
import {
  buildVariable,
  type QueryVariable,
  type TemplateVariable,
  variableUrlFragment,
} from './variables.ts';

export interface DomainDashboard {
  /** Stable uid (8–40 characters of [A-Za-z0-9_-]): links and provisioning keep it. */
  uid: string;
  title: string;
  /** What the dashboard is for; shown in Grafana's dashboard list. */
  description: string;
  tags: string[];
  /** In the order they appear above the panels. */
  variables: TemplateVariable[];
  rows: RowSpec[];
  /** Default range; the last 24 hours when absent. */
  time?: { from: string; to: string };
  /** Auto-refresh interval; 1 minute when absent (the minute rollups' grain). */
  refresh?: string;
  /** Panels this domain adds to the overview dashboard, in a row titled after this dashboard. */
  overview?: PanelSpec[];
}

export class DashboardDefinitionError extends Error {
  readonly code = 'KANSOKU_DASHBOARD_DEFINITION';
}

/** Grafana's time range as epoch milliseconds, what the gateway's from/to take. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, expanded by Grafana
const RANGE = { from: '${__from}', to: '${__to}' };
const BUILTIN_VARIABLES = new Set(['__from', '__to', '__interval', '__interval_ms', '__range', '__range_s']);

function properties(query: QueryDefinition): Record<string, TSchema> {
  return query.params.properties as Record<string, TSchema>;
}

function encodeParam(value: string | number): string {
  const text = String(value);
  // Grafana expressions stay readable; Grafana expands them before the request.
  return text.includes('${') ? text : encodeURIComponent(text);
}

/**
 * The gateway URL a panel (or query variable) requests, with Grafana variables unexpanded:
 * `/api/v1/<domain>/<name>?from=${__from}&to=${__to}&<params>&<bound variables>`.
 */
export function gatewayUrl(
  query: QueryDefinition,
  params: Record<string, string | number>,
  variables: TemplateVariable[],
  unbound: string[] = [],
): string {
  const path = `/api/v1/${query.domain}/${query.name}`;
  const props = properties(query);
  const parts: string[] = [];
  const bound = new Set<string>();
  for (const [name, value] of Object.entries(RANGE)) {
    if (name in props) {
      parts.push(`${name}=${value}`);
      bound.add(name);
    }
  }
  for (const [name, value] of Object.entries(params)) {
    if (!(name in props))
      throw new DashboardDefinitionError(`${path}: the query takes no parameter "${name}"`);
    if (bound.has(name))
      throw new DashboardDefinitionError(`${path}: "${name}" follows the dashboard's range`);
    parts.push(`${name}=${encodeParam(value)}`);
    bound.add(name);
  }
  for (const name of unbound) {
    if (!(name in props))
      throw new DashboardDefinitionError(`${path}: the query takes no parameter "${name}"`);
  }
  for (const variable of variables) {
    if (!(variable.param in props) || bound.has(variable.param) || unbound.includes(variable.param)) continue;
    checkBinding(path, variable, props[variable.param] as TSchema);
    parts.push(variableUrlFragment(variable));
    bound.add(variable.param);
  }
  const required = (query.params.required ?? []) as string[];
  for (const name of required) {
    if (!bound.has(name) && props[name]?.default === undefined) {
      throw new DashboardDefinitionError(`${path}: required parameter "${name}" has no value or variable`);
    }
  }
  return `${path}?${parts.join('&')}`;
}

/**
 * Whether every value the variable can send is one the parameter accepts: "All" sends an empty
 * value with `value` encoding (so the parameter must accept ''), a `pair` option must be
 * `param=<value>`, and each fixed option must pass the parameter's schema.
 */
function checkBinding(path: string, variable: TemplateVariable, schema: TSchema): void {
  const where = `${path}: variable "${variable.name}"`;
  const accepts = (text: string) => Value.Check(schema, Value.Convert(schema, text));
  if (variable.encoding === 'value' && variable.includeAll && !accepts('')) {
    throw new DashboardDefinitionError(
      `${where}: "${variable.param}" refuses an empty value, so All cannot be sent as one; ` +
        "use encoding 'pair' (options 'param=value') or no All",
    );
  }
  if (variable.kind !== 'custom') return;
  for (const option of variable.options) {
    let value = option.value;
    if (variable.encoding === 'pair') {
      const prefix = `${variable.param}=`;
      if (!value.startsWith(prefix)) {
        throw new DashboardDefinitionError(`${where}: option "${option.text}" must be ${prefix}<value>`);
      }
      value = decodeURIComponent(value.slice(prefix.length));
    }
    if (!accepts(value)) {
      throw new DashboardDefinitionError(
        `${where}: option "${option.text}" (${value}) is refused by the query`,
      );
    }
  }
}

function infinityColumns(source: PanelSource): InfinityColumn[] {
  return source.columns.map((c) => ({
    selector: c.name,
    text: c.name,
    type: c.type === 'time' ? 'timestamp_epoch' : c.type,
  }));
}

function checkVariables(url: string, declared: Set<string>, where: string): void {
  for (const match of url.matchAll(/\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}/g)) {
    const name = match[1] ?? '';
    if (!declared.has(name) && !BUILTIN_VARIABLES.has(name)) {
      throw new DashboardDefinitionError(`${where}: \${${name}} is not a variable of the dashboard`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Panels

const WIDTH = 12;
const HEIGHT = 8;

type AnyPanelBuilder =
  | timeseriesPanel.PanelBuilder
  | statPanel.PanelBuilder
  | barchart.PanelBuilder
  | piechart.PanelBuilder
  | tablePanel.PanelBuilder;

function panelBuilder(spec: PanelSpec): AnyPanelBuilder {
  switch (spec.kind) {
    case 'timeseries': {
      const builder = new timeseriesPanel.PanelBuilder()
        .drawStyle(spec.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
        .fillOpacity(spec.fillOpacity ?? (spec.bars ? 80 : 10))
        .lineWidth(1)
        .showPoints(common.VisibilityMode.Never)
        .spanNulls(false)
        .legend(
          new common.VizLegendOptionsBuilder()
            .displayMode(common.LegendDisplayMode.Table)
            .placement(common.LegendPlacement.Bottom)
            .showLegend(true)
            .calcs(['mean', 'max', 'lastNotNull']),
        )
        .tooltip(
          new common.VizTooltipOptionsBuilder()
            .mode(common.TooltipDisplayMode.Multi)
            .sort(common.SortOrder.Descending),
        );
      if (spec.stack) {
        builder.stacking(
          new common.StackingConfigBuilder().mode(
            spec.stack === 'percent' ? common.StackingMode.Percent : common.StackingMode.Normal,
          ),
        );
      }
      // Long rows (time, label, value) become one series per label, as the gateway returns them.
      const labels = spec.source.columns.filter((c) => c.type === 'string');
      if (labels.length > 0) {
        builder.withTransformation({ id: 'prepareTimeSeries', options: { format: 'multi' } });
        // One value column: name each series by its label alone ("IPv6", "AS64500"), not "bps IPv6".
        const values = spec.source.columns.filter((c) => c.type === 'number');
        if (labels.length === 1 && values.length === 1) {
          builder.displayName(`\${__field.labels.${labels[0]?.name}}`);
        }
      }
      return builder;
    }
    case 'stat':
      return new statPanel.PanelBuilder()
        .reduceOptions(
          new common.ReduceDataOptionsBuilder()
            .calcs([spec.reducer ?? 'lastNotNull'])
            .values(false)
            .fields(''),
        )
        .graphMode(spec.sparkline ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.Value)
        .textMode(common.BigValueTextMode.Auto)
        .justifyMode(common.BigValueJustifyMode.Auto);
    case 'barchart': {
      const builder = new barchart.PanelBuilder()
        .xField(spec.xField)
        .orientation(spec.horizontal ? common.VizOrientation.Horizontal : common.VizOrientation.Auto)
        .showValue(common.VisibilityMode.Auto)
        .fillOpacity(80)
        .legend(
          new common.VizLegendOptionsBuilder()
            .displayMode(common.LegendDisplayMode.List)
            .placement(common.LegendPlacement.Bottom)
            .showLegend(true),
        );
      if (spec.stack) {
        builder.stacking(spec.stack === 'percent' ? common.StackingMode.Percent : common.StackingMode.Normal);
      }
      return builder;
    }
    case 'pie':
      return new piechart.PanelBuilder()
        .pieType(spec.donut ? piechart.PieChartType.Donut : piechart.PieChartType.Pie)
        .reduceOptions(
          new common.ReduceDataOptionsBuilder()
            .values(true)
            .calcs(['lastNotNull'])
            .fields(`/^${spec.valueField}$/`),
        )
        .displayLabels([piechart.PieChartLabels.Name, piechart.PieChartLabels.Percent])
        .legend(
          new piechart.PieChartLegendOptionsBuilder()
            .displayMode(common.LegendDisplayMode.Table)
            .placement(common.LegendPlacement.Right)
            .showLegend(true)
            .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent]),
        );
    case 'table': {
      const builder = new tablePanel.PanelBuilder().showHeader(true).cellHeight(common.TableCellHeight.Sm);
      if (spec.sortBy) {
        const column = spec.source.columns.find((c) => c.name === spec.sortBy);
        builder.sortBy([
          new common.TableSortByFieldStateBuilder()
            .displayName(column?.displayName ?? spec.sortBy)
            .desc(!spec.sortAscending),
        ]);
      }
      return builder;
    }
  }
}

function renderPanel(
  spec: PanelSpec,
  id: number,
  variables: TemplateVariable[],
  declared: Set<string>,
  dashboardUid: string,
): cog.Builder<dashboard.Panel> {
  const { query, params = {}, unbound = [] } = spec.source;
  const url = gatewayUrl(query, params, variables, unbound);
  checkVariables(url, declared, `panel "${spec.title}"`);
  for (const field of [
    spec.kind === 'barchart' ? spec.xField : undefined,
    spec.kind === 'pie' ? spec.labelField : undefined,
    spec.kind === 'pie' ? spec.valueField : undefined,
    spec.kind === 'table' ? spec.sortBy : undefined,
  ]) {
    if (field !== undefined && !spec.source.columns.some((c) => c.name === field)) {
      throw new DashboardDefinitionError(`panel "${spec.title}": "${field}" is not one of its columns`);
    }
  }
  if (spec.kind === 'timeseries' && !spec.source.columns.some((c) => c.type === 'time')) {
    throw new DashboardDefinitionError(`panel "${spec.title}": a time series needs a time column`);
  }
  const builder = panelBuilder(spec);
  builder
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource({ ...GATEWAY_DATASOURCE })
    .withTarget(targetBuilder(new InfinityTarget('A', url, infinityColumns(spec.source))))
    .span(spec.width ?? WIDTH)
    .height(spec.height ?? HEIGHT);
  if (spec.unit) builder.unit(spec.unit);
  if (spec.decimals !== undefined) builder.decimals(spec.decimals);
  if (spec.timeFrom) builder.timeFrom(spec.timeFrom);
  for (const column of spec.source.columns) {
    const properties: dashboard.DynamicConfigValue[] = [];
    if (column.unit && column.unit !== spec.unit) properties.push({ id: 'unit', value: column.unit });
    if (column.displayName) properties.push({ id: 'displayName', value: column.displayName });
    if (column.drillDown) {
      const { dashboardUid: target, variable } = column.drillDown;
      if (target === dashboardUid && !declared.has(variable)) {
        throw new DashboardDefinitionError(
          `panel "${spec.title}": column ${column.name} sets \${${variable}}, not a variable of the dashboard`,
        );
      }
      properties.push({
        id: 'links',
        value: [
          {
            title: `Show only this ${column.displayName ?? column.name}`,
            // Grafana expands these when the cell is clicked; the range stays as it is.
            url: `/d/${target}?var-${variable}=\${__value.raw}&\${__url_time_range}`,
          },
        ],
      });
    }
    if (properties.length > 0) builder.overrideByName(column.name, properties);
  }
  return builder;
}

// ---------------------------------------------------------------------------------------------
// Dashboards

/** Tag of every generated dashboard: the dashboard links list them by it. */
export const KANSOKU_TAG = 'kansoku';

const UID = /^[A-Za-z0-9_-]{8,40}$/;

/** The dashboard JSON model Grafana's file provider loads. */
export function buildDashboard(definition: DomainDashboard): dashboard.Dashboard {
  if (!UID.test(definition.uid)) {
    throw new DashboardDefinitionError(`dashboard uid "${definition.uid}" must be 8–40 of [A-Za-z0-9_-]`);
  }
  const declared = new Set<string>();
  for (const variable of definition.variables) {
    if (declared.has(variable.name)) {
      throw new DashboardDefinitionError(`${definition.uid}: variable "${variable.name}" is defined twice`);
    }
    declared.add(variable.name);
  }
  const variableUrl = (variable: QueryVariable) => {
    // A variable's own query is not filtered by the variables (the list would empty itself).
    const url = gatewayUrl(variable.query, variable.params ?? {}, []);
    checkVariables(url, declared, `variable "${variable.name}"`);
    return url;
  };
  const builder = new dashboard.DashboardBuilder(definition.title)
    .uid(definition.uid)
    .description(definition.description)
    .tags(definition.tags)
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time(definition.time ?? { from: 'now-24h', to: 'now' })
    .refresh(definition.refresh ?? '1m')
    .timezone('browser')
    .variables(definition.variables.map((v) => buildVariable(v, variableUrl)))
    // Every Kansoku dashboard links to the others (by tag), keeping the range.
    .link(
      new dashboard.DashboardLinkBuilder('Kansoku')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([KANSOKU_TAG])
        .asDropdown(true)
        .keepTime(true)
        .includeVars(false)
        .targetBlank(false),
    );
  if (!definition.tags.includes(KANSOKU_TAG)) builder.tags([KANSOKU_TAG, ...definition.tags]);
  let id = 0;
  for (const rowSpec of definition.rows) {
    const rowBuilder = new dashboard.RowBuilder(rowSpec.title).id(++id).collapsed(rowSpec.collapsed ?? false);
    const panels = rowSpec.panels.map((panel) =>
      renderPanel(panel, ++id, definition.variables, declared, definition.uid),
    );
    if (rowSpec.collapsed) {
      for (const panel of panels) rowBuilder.withPanel(panel);
      builder.withRow(rowBuilder);
    } else {
      // Open rows keep their panels at the top level, after the row, as Grafana saves them.
      builder.withRow(rowBuilder);
      for (const panel of panels) builder.withPanel(panel);
    }
  }
  return builder.build();
}
