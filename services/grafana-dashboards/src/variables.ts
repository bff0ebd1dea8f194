/**
 * Template variables of Kansoku dashboards. A variable is bound to one gateway parameter: every
 * panel whose query takes that parameter (and does not set it itself) gets it from the variable.
 *
 * "All" needs care: the gateway reads an absent or empty filter as "all", but Grafana ignores an
 * empty custom all-value (it then expands to the list of every option, which no filter accepts).
 * So the all-value is `&`: `exporter=${exporter}` becomes `exporter=&…` — an empty exporter
 * followed by an empty pair that every query-string parser skips. A filter that must be absent
 * rather than empty (ip_version is 4 or 6, '' fails) carries the whole `name=value` pair in its
 * option values instead, so its "All" leaves only the empty pair.
 */
import {
  CustomVariableBuilder,
  QueryVariableBuilder,
  VariableHide,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { QueryDefinition } from '@kansoku/kit';
import { GATEWAY_DATASOURCE, type InfinityColumnType } from './infinity.ts';

/** The custom all-value: an empty query-string pair (see the module comment). */
export const ALL_VALUE = '&';

export interface VariableOptionSpec {
  text: string;
  /** What Grafana substitutes for `${name}`. */
  value: string;
}

interface VariableBase {
  /** Grafana variable name, referenced as `${name}`. */
  name: string;
  label: string;
  description: string;
  /** The gateway parameter this variable fills. */
  param: string;
  /**
   * `value`: the URL holds `param=${name}` (option values are bare values).
   * `pair`: the URL holds `${name}` (option values are whole `param=value` pairs).
   */
  encoding: 'value' | 'pair';
  includeAll: boolean;
  hide?: 'label' | 'variable';
}

/** A fixed list of options. */
export interface CustomVariable extends VariableBase {
  kind: 'custom';
  options: VariableOptionSpec[];
  /** Value of the option selected when the dashboard opens; the all option when absent and includeAll. */
  current?: string;
}

/** Options read from a gateway query (one column of its rows), refreshed with the time range. */
export interface QueryVariable extends VariableBase {
  kind: 'query';
  query: QueryDefinition;
  /** Parameters besides from/to, which always follow the dashboard's range. */
  params?: Record<string, string | number>;
  /** The column whose distinct values become the options. */
  column: string;
  columnType?: Exclude<InfinityColumnType, 'timestamp_epoch'>;
}

export type TemplateVariable = CustomVariable | QueryVariable;

/** The URL text for the variable's parameter: `exporter=${exporter}` or `${ip_version}`. */
export function variableUrlFragment(variable: TemplateVariable): string {
  return variable.encoding === 'pair' ? `\${${variable.name}}` : `${variable.param}=\${${variable.name}}`;
}

/** The values Grafana can substitute for the variable (its options, then the all-value). */
export function customVariableValues(variable: CustomVariable): string[] {
  return [...variable.options.map((o) => o.value), ...(variable.includeAll ? [ALL_VALUE] : [])];
}

// ---------------------------------------------------------------------------------------------
// Ready-made variables and shorthands

type Shorthand<T extends TemplateVariable> = Omit<T, 'kind' | 'encoding' | 'includeAll'> &
  Partial<Pick<T, 'encoding' | 'includeAll'>>;

/** A variable whose options come from a gateway query's column; All included unless said otherwise. */
export function queryVariable(spec: Shorthand<QueryVariable>): QueryVariable {
  return { kind: 'query', encoding: 'value', includeAll: true, ...spec };
}

/** A variable with fixed options; no All unless `includeAll`. */
export function customVariable(spec: Shorthand<CustomVariable>): CustomVariable {
  return { kind: 'custom', encoding: 'value', includeAll: false, ...spec };
}

/**
 * Exporter (flow exporter address), read from the flows exporter/interface ranking over the
 * dashboard's range; "All" by default.
 */
export function exporterVariable(query: QueryDefinition, column = 'exporter'): QueryVariable {
  return {
    kind: 'query',
    name: 'exporter',
    label: 'Exporter',
    description: 'Router exporting flows (its source address); All sums every exporter',
    param: 'exporter',
    encoding: 'value',
    includeAll: true,
    query,
    params: { limit: 100 },
    column,
  };
}

/** IP version filter: All, IPv4, IPv6. */
export function ipVersionVariable(): CustomVariable {
  return {
    kind: 'custom',
    name: 'ip_version',
    label: 'IP version',
    description: 'Only IPv4 or only IPv6 traffic; All counts both',
    param: 'ip_version',
    encoding: 'pair',
    includeAll: true,
    options: [
      { text: 'IPv4', value: 'ip_version=4' },
      { text: 'IPv6', value: 'ip_version=6' },
    ],
  };
}

/**
 * Bucket size of time series, in seconds (the gateway's `step`). Grafana cannot turn its own
 * interval into whole seconds inside a URL, so the operator picks it; 5 minutes by default
 * (288 points a day; the gateway refuses more than 11,000 points, so 1 minute suits ≤ 7 days).
 */
export function stepVariable(): CustomVariable {
  return {
    kind: 'custom',
    name: 'step',
    label: 'Step',
    description: 'Time series bucket; the gateway refuses more than 11,000 points per series',
    param: 'step',
    encoding: 'value',
    includeAll: false,
    current: '300',
    options: [
      { text: '1m', value: '60' },
      { text: '5m', value: '300' },
      { text: '15m', value: '900' },
      { text: '1h', value: '3600' },
      { text: '1d', value: '86400' },
    ],
  };
}

/** Time zone of local-time buckets (time of day, weekday, day). */
export function timeZoneVariable(zones: string[] = ['Asia/Tokyo', 'UTC']): CustomVariable {
  return {
    kind: 'custom',
    name: 'timezone',
    label: 'Time zone',
    description: 'Time zone of local time-of-day, weekday and day buckets',
    param: 'timezone',
    encoding: 'value',
    includeAll: false,
    current: zones[0],
    options: zones.map((zone) => ({ text: zone, value: zone })),
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

const hideOf = (hide: TemplateVariable['hide']) =>
  hide === 'variable'
    ? VariableHide.HideVariable
    : hide === 'label'
      ? VariableHide.HideLabel
      : VariableHide.DontHide;

/** The SDK variable model. `queryVariableUrl` renders a query variable's gateway URL. */
export function buildVariable(
  variable: TemplateVariable,
  queryVariableUrl: (variable: QueryVariable) => string,
): CustomVariableBuilder | QueryVariableBuilder {
  if (variable.kind === 'custom') {
    const values = variable.options.map((o) => `${o.text} : ${o.value}`).join(', ');
    const current = variable.options.find((o) => o.value === variable.current);
    const builder = new CustomVariableBuilder(variable.name)
      .label(variable.label)
      .description(variable.description)
      .hide(hideOf(variable.hide))
      .values(values)
      .includeAll(variable.includeAll)
      .multi(false)
      // Typed values would bypass the option list (a pair-encoded variable needs whole pairs).
      .allowCustomValue(false)
      .options(variable.options.map((o) => ({ text: o.text, value: o.value, selected: o === current })))
      .current(
        current
          ? { text: current.text, value: current.value }
          : variable.includeAll
            ? { text: 'All', value: '$__all' }
            : { text: variable.options[0]?.text ?? '', value: variable.options[0]?.value ?? '' },
      );
    if (variable.includeAll) builder.allValue(ALL_VALUE);
    return builder;
  }
  const builder = new QueryVariableBuilder(variable.name)
    .label(variable.label)
    .description(variable.description)
    .hide(hideOf(variable.hide))
    .datasource({ ...GATEWAY_DATASOURCE })
    .query({
      refId: 'variable',
      queryType: 'infinity',
      query: '',
      infinityQuery: {
        refId: 'variable',
        type: 'json',
        source: 'url',
        parser: 'backend',
        format: 'table',
        url: queryVariableUrl(variable),
        url_options: { method: 'GET', data: '' },
        root_selector: 'rows',
        columns: [
          { selector: variable.column, text: variable.column, type: variable.columnType ?? 'string' },
        ],
        filters: [],
      },
    })
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.NaturalAsc)
    .includeAll(variable.includeAll)
    .multi(false)
    // An exporter beyond the listed ones can be typed in.
    .allowCustomValue(variable.encoding === 'value')
    .current(variable.includeAll ? { text: 'All', value: '$__all' } : { text: '', value: '' });
  if (variable.includeAll) builder.allValue(ALL_VALUE);
  return builder;
}
