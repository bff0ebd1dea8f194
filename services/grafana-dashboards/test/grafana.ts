/** The provisioned datasource as Grafana reads it, and the request helpers of src/requests.ts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DIST_DIR } from '../src/generate.ts';

export * from '../src/requests.ts';

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
