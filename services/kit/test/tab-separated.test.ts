import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestWarehouse, type TestWarehouse } from '../src/testing/warehouse.ts';
import { TabSeparatedWriter } from '../src/warehouse/tab-separated.ts';

describe('TabSeparatedWriter', () => {
  it('writes numbers, times, addresses and escaped text as ClickHouse reads them', () => {
    const w = new TabSeparatedWriter(8); // tiny on purpose: it must grow
    w.uint(0).uint(9).uint(10).uint(4_294_967_295).uint64(18_446_744_073_709_551_615n).endRow();
    w.dateTime64Ms(Date.UTC(2026, 10, 24, 23, 5, 9, 7))
      .ipv4(Uint8Array.of(192, 0, 2, 255))
      .ascii('2001:db8::1')
      .string('tab\there\nnew\\line\r')
      .string('日本語')
      .endRow();
    expect(w.rows).toBe(2);
    expect(w.bytes().toString('utf8')).toBe(
      '0\t9\t10\t4294967295\t18446744073709551615\n' +
        '1795561509.007\t192.0.2.255\t2001:db8::1\ttab\\there\\nnew\\\\line\\r\t日本語\n',
    );
  });
});

describe('insertTabSeparated on the embedded ClickHouse', () => {
  let wh: TestWarehouse;
  beforeAll(async () => {
    wh = await openTestWarehouse();
    await wh.warehouse.command(
      `CREATE TABLE {{db}}.tsv (t DateTime64(3, 'UTC'), n UInt64, a String, s String)
       ENGINE = MergeTree ORDER BY t SETTINGS non_replicated_deduplication_window = 100`,
    );
  });
  afterAll(async () => wh?.close());

  it('stores what was written, once per dedup token, in the named column order', async () => {
    const w = new TabSeparatedWriter();
    const odd = 'a\tb\nc\\d é';
    // Columns in another order than the table's, as a caller may list them.
    w.string(odd)
      .uint64(2n ** 63n)
      .dateTime64Ms(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
      .ipv4(Uint8Array.of(10, 1, 2, 3))
      .endRow();
    w.string('').uint(1).dateTime64Ms(0).ascii('::').endRow();
    // The first and last times written as Unix seconds, and the ones just outside (written as text).
    for (const ms of [1_000_000_000_000, 9_999_999_999_999, 999_999_999_999, 10_000_000_000_000]) {
      w.string('edge').uint(ms).dateTime64Ms(ms).ascii('').endRow();
    }
    const rows = { columns: ['s', 'n', 't', 'a'], data: w.bytes(), rows: w.rows };
    await wh.warehouse.insertTabSeparated('{{db}}.tsv', rows, { dedupToken: 'batch-1' });
    await wh.warehouse.insertTabSeparated('{{db}}.tsv', rows, { dedupToken: 'batch-1' });
    const read = await wh.warehouse.query<{ t: string; n: string; a: string; s: string }>(
      "SELECT toString(t) AS t, toString(n) AS n, a, s FROM {{db}}.tsv WHERE s != 'edge' ORDER BY t",
    );
    const edges = await wh.warehouse.query<{ n: string; ms: string }>(
      "SELECT toString(n) AS n, toString(toUnixTimestamp64Milli(t)) AS ms FROM {{db}}.tsv WHERE s = 'edge'",
    );
    for (const edge of edges) expect(edge.ms).toBe(edge.n);
    expect(edges).toHaveLength(4);
    expect(read).toEqual([
      { t: '1970-01-01 00:00:00.000', n: '1', a: '::', s: '' },
      { t: '2026-01-02 03:04:05.678', n: '9223372036854775808', a: '10.1.2.3', s: odd },
    ]);
  });
});
