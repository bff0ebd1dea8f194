/**
 * A started embedded (chDB) warehouse in a fresh temporary folder, for tests; `close()` stops it and removes
 * the folder.
 *
 * Test code only: not exported from the kit's index.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log.ts';
import { createMetricsRegistry, type Registry } from '../metrics.ts';
import { createWarehouse, type Warehouse } from '../warehouse/warehouse.ts';

export interface TestWarehouse {
  warehouse: Warehouse;
  /** The registry the warehouse reports to, for the rest of the test to share. */
  metrics: Registry;
  /** The temporary folder chDB keeps its data in. */
  dir: string;
  /** Stops the warehouse and removes its folder. */
  close(): Promise<void>;
}

export interface TestWarehouseOptions {
  /** Database name (default `kansoku`). */
  database?: string;
  /** Prefix of the temporary folder's name (default `kansoku-wh-`). */
  prefix?: string;
  /** Collect process metrics in the registry too (default false). */
  processMetrics?: boolean;
}

export async function openTestWarehouse(options: TestWarehouseOptions = {}): Promise<TestWarehouse> {
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? 'kansoku-wh-'));
  const metrics = createMetricsRegistry({ processMetrics: options.processMetrics ?? false });
  const warehouse = createWarehouse(
    {
      url: '',
      path: dir,
      database: options.database ?? 'kansoku',
      username: 'default',
      password: '',
      requestTimeoutMs: 60_000,
    },
    { log: silentLogger(), metrics },
  );
  try {
    await warehouse.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    warehouse,
    metrics,
    dir,
    async close() {
      try {
        await warehouse.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
