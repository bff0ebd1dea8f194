import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.ts';
import { openTestWarehouse, type TestWarehouse } from '../src/testing/warehouse.ts';
import { ingestLedgerMigration, latestIntent, writeIntent } from '../src/warehouse/ingest-ledger.ts';
import { migrate } from '../src/warehouse/migrations.ts';
import type { Warehouse } from '../src/warehouse/warehouse.ts';

describe('embedded warehouse (chDB)', () => {
  let db: TestWarehouse;
  let warehouse: Warehouse;
  const log = silentLogger();

  beforeAll(async () => {
    db = await openTestWarehouse({ database: 'kansoku_test' });
    warehouse = db.warehouse;
  });
  afterAll(async () => {
    await db.close();
  });

  it('applies migrations once, in id order, and refuses an edited one', async () => {
    const migrations = [
      {
        id: 'test/0002_view',
        description: 'a view over t',
        statements: ['CREATE VIEW IF NOT EXISTS {{db}}.v AS SELECT sum(n) AS n FROM {{db}}.t'],
      },
      {
        id: 'test/0001_table',
        description: 'a table',
        statements: ['CREATE TABLE IF NOT EXISTS {{db}}.t (n UInt32) ENGINE = MergeTree ORDER BY n'],
      },
    ];
    expect(await migrate(warehouse, migrations, { log })).toEqual({
      applied: ['test/0001_table', 'test/0002_view'],
      alreadyApplied: [],
    });
    expect((await migrate(warehouse, migrations, { log })).applied).toEqual([]);
    const edited = [
      { ...migrations[1]!, statements: ['CREATE TABLE IF NOT EXISTS {{db}}.t2 (n UInt8) ENGINE = Log'] },
    ];
    await expect(migrate(warehouse, edited, { log })).rejects.toThrow(
      /test\/0001_table was applied with checksum/,
    );
  });

  it('binds parameters instead of splicing them into SQL', async () => {
    await warehouse.insert('{{db}}.t', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const rows = await warehouse.query<{ c: string }>(
      'SELECT count() AS c FROM {{db}}.t WHERE n >= {min:UInt32}',
      {
        min: 2,
      },
    );
    expect(Number(rows[0]?.c)).toBe(2);
    await expect(
      warehouse.query('SELECT count() FROM {{db}}.t WHERE n >= {min:UInt32}', { min: '1 OR 1=1' }),
    ).rejects.toThrow();
  });

  it('stores an insert repeated with the same dedup token once', async () => {
    await warehouse.command(
      'CREATE TABLE IF NOT EXISTS {{db}}.d (k String, v UInt64) ENGINE = SummingMergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100',
    );
    const rows = [
      { k: 'a', v: 5 },
      { k: 'b', v: 7 },
    ];
    await warehouse.insert('{{db}}.d', rows, { dedupToken: 'g:t:0:0-9' });
    await warehouse.insert('{{db}}.d', rows, { dedupToken: 'g:t:0:0-9' });
    await warehouse.insert('{{db}}.d', rows, { dedupToken: 'g:t:0:10-19' });
    const sums = await warehouse.query<{ k: string; v: string }>(
      'SELECT k, sum(v) AS v FROM {{db}}.d GROUP BY k ORDER BY k',
    );
    expect(sums.map((r) => [r.k, Number(r.v)])).toEqual([
      ['a', 10],
      ['b', 14],
    ]);
  });

  it('keeps the latest intent per consumer group and partition in the ingest ledger', async () => {
    await migrate(warehouse, [ingestLedgerMigration], { log });
    expect(await latestIntent(warehouse, 'g', 'topic', 0)).toBeUndefined();
    await writeIntent(warehouse, 'g', 'topic', 0, { first: 0n, last: 99n, token: 'a' });
    await writeIntent(warehouse, 'g', 'topic', 0, { first: 100n, last: 149n, token: 'b' });
    await writeIntent(warehouse, 'g', 'topic', 1, { first: 0n, last: 9n, token: 'c' });
    expect(await latestIntent(warehouse, 'g', 'topic', 0)).toEqual({ first: 100n, last: 149n, token: 'b' });
    expect(await latestIntent(warehouse, 'other', 'topic', 0)).toBeUndefined();
  });
});
