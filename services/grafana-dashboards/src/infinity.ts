/**
 * The Infinity datasource's query model, as the plugin stores it in a dashboard. The foundation SDK
 * has no Infinity types, so this is the one hand-written dataquery: only the fields Kansoku uses,
 * with the backend parser so the same queries serve Grafana alerting, recorded queries and caching.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';

export const INFINITY_TYPE = 'yesoreyeram-infinity-datasource';
/** The uid the provisioning file gives the gateway datasource; every panel and variable points to it. */
export const GATEWAY_DATASOURCE_UID = 'kansoku-gateway';
export const GATEWAY_DATASOURCE = { type: INFINITY_TYPE, uid: GATEWAY_DATASOURCE_UID } as const;

/** How Infinity reads one field of a row: the gateway's time columns are epoch milliseconds. */
export type InfinityColumnType = 'string' | 'number' | 'timestamp_epoch';

export interface InfinityColumn {
  /** Key of the row object in the gateway's answer. */
  selector: string;
  /** Field name in Grafana; kept equal to the selector so overrides and alert rules name the column. */
  text: string;
  type: InfinityColumnType;
}

export interface InfinityTargetFields {
  refId: string;
  datasource: { type: string; uid: string };
  type: 'json';
  source: 'url';
  parser: 'backend';
  format: 'table';
  /** Relative to the datasource URL (the gateway's base URL), with Grafana variables unexpanded. */
  url: string;
  url_options: { method: 'GET'; data: '' };
  /** The gateway answers `{columns, rows}`: the frame is built from `rows`. */
  root_selector: 'rows';
  columns: InfinityColumn[];
  filters: [];
}

/** An Infinity query that the SDK's panel builders accept as a target. */
export class InfinityTarget implements cog.Dataquery {
  readonly refId: string;
  readonly datasource = { ...GATEWAY_DATASOURCE };
  readonly type = 'json' as const;
  readonly source = 'url' as const;
  readonly parser = 'backend' as const;
  readonly format = 'table' as const;
  readonly url: string;
  readonly url_options = { method: 'GET' as const, data: '' as const };
  readonly root_selector = 'rows' as const;
  readonly columns: InfinityColumn[];
  readonly filters: [] = [];

  constructor(refId: string, url: string, columns: InfinityColumn[]) {
    this.refId = refId;
    this.url = url;
    this.columns = columns;
  }

  // Marker the SDK's Dataquery interface requires; on the prototype, so JSON leaves it out.
  _implementsDataqueryVariant(): void {}
}

/** Wraps a target as the SDK's builder interface (`withTarget` takes builders). */
export function targetBuilder(target: InfinityTarget): cog.Builder<cog.Dataquery> {
  return { build: () => target };
}
