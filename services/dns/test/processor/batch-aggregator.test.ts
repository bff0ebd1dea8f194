import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type DnsQuery, DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { DnsQueryBatchSchema } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';
import { type SinkOutput, seededRandom } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { encodeDnsQuery, encodeDnsQueryBatch } from '../../src/collector/dns-query-codec.ts';
import { aggregateDnsQueries } from '../../src/processor/aggregate.ts';
import { ByteKeyTable, DnsQueryBatchAggregator } from '../../src/processor/batch-aggregator.ts';
import { decodeDnsQueryBatch, decodeDnsQueryFast } from '../../src/processor/dns-query-decoder.ts';

/** 2023-11-14 22:14:00 UTC. */
const T0_NS = 1_700_000_040n * 1_000_000_000n;

/** Outputs with TabSeparated bytes as text, so a difference shows as text. */
function comparable(outputs: SinkOutput[]) {
  return outputs.map((o) =>
    'tabSeparated' in o
      ? {
          table: o.table,
          columns: o.tabSeparated.columns,
          rows: o.tabSeparated.rows,
          text: o.tabSeparated.data.toString('utf8'),
        }
      : o,
  );
}

function randomQueries(seed: number, n: number): DnsQuery[] {
  const r = seededRandom(seed);
  const int = (k: number) => Math.floor(r() * k);
  const names = [
    'www.example.co.jp.',
    'a.b.example.com.',
    'jp.',
    '.',
    '10.2.0.192.in-addr.arpa.',
    'ünï.例え.jp.',
  ];
  const out: DnsQuery[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = r() < 0.3;
    const odd = r() < 0.02;
    out.push(
      create(DnsQuerySchema, {
        // Mostly a few minutes around T0 (some across an hour boundary), sometimes no query time at all.
        timeQueryNs: r() < 0.05 ? 0n : T0_NS + BigInt(int(4_000_000)) * 1_000_000n,
        timeReceivedNs: T0_NS + BigInt(int(100_000_000_000)),
        clientAddress: odd
          ? Uint8Array.from({ length: int(7) }, () => int(256))
          : Uint8Array.from({ length: v6 ? 16 : 4 }, () => (r() < 0.7 ? int(4) : int(256))),
        clientPort: int(65536),
        serverAddress:
          r() < 0.9 ? Uint8Array.from([192, 0, 2, 53]) : Uint8Array.from({ length: 16 }, () => int(3)),
        serverPort: 53,
        ipVersion: odd ? int(4) : v6 ? 2 : 1,
        transport: r() < 0.9 ? 1 : int(300),
        messageId: int(70_000),
        qname:
          r() < 0.8
            ? (names[int(names.length)] as string)
            : `h${int(500)}\t${r() < 0.1 ? '\\' : ''}.z${int(50)}.example.jp.`,
        qtype: r() < 0.9 ? [1, 28, 65][int(3)]! : int(100_000),
        qclass: 1,
        recursionDesired: r() < 0.5,
        dnssecOk: r() < 0.5,
        querySizeBytes: int(2 ** 32),
        responseSeen: r() < 0.9,
        rcode: r() < 0.9 ? [0, 2, 3][int(3)]! : int(5000),
        // Now and then beyond 2^53 µs: the raw table's UInt64 must still be exact.
        responseTimeUs: r() < 0.01 ? 2n ** 60n + BigInt(int(1000)) : BigInt(int(5_000_000)),
        responseSizeBytes: int(70_000),
        answerCount: int(70_000),
        truncated: r() < 0.1,
        source: int(4),
        resolverIdentity: r() < 0.1 ? '' : `resolver-${int(3)}`,
      }),
    );
  }
  return out;
}

describe('DnsQuery batch aggregator (the processor fast path)', () => {
  it('gives the rows aggregateDnsQueries gives, batch after batch, for every raw sampling', {
    timeout: 60_000,
  }, () => {
    for (const rawSampleOneIn of [1, 0, 7]) {
      const fast = new DnsQueryBatchAggregator({ rawSampleOneIn, rawFormat: 'tab-separated' });
      for (let b = 0; b < 4; b++) {
        const records = randomQueries(100 * rawSampleOneIn + b, 3000);
        const wire = records.map((q) => Buffer.from(toBinary(DnsQuerySchema, q)));
        const reference = aggregateDnsQueries(
          wire.map((bytes) => decodeDnsQueryFast(bytes)),
          { rawSampleOneIn },
        );
        const rows = wire.map((bytes) => fast.add(bytes));
        expect(comparable(fast.aggregate(rows))).toEqual(comparable(reference));
      }
    }
  });

  it('reads the collector encoder output the same way', () => {
    const records = randomQueries(5, 2000);
    const wire = records.map((q) => Buffer.from(encodeDnsQuery(q)));
    const fast = new DnsQueryBatchAggregator({ rawSampleOneIn: 1, rawFormat: 'tab-separated' });
    const rows = wire.map((bytes) => fast.add(bytes));
    expect(comparable(fast.aggregate(rows))).toEqual(
      comparable(aggregateDnsQueries(records, { rawSampleOneIn: 1 })),
    );
  });

  it('keeps nothing of a malformed message and goes on', () => {
    const records = randomQueries(9, 3);
    const wire = records.map((q) => Buffer.from(toBinary(DnsQuerySchema, q)));
    const fast = new DnsQueryBatchAggregator({ rawSampleOneIn: 1, rawFormat: 'tab-separated' });
    const rows = [fast.add(wire[0]!)];
    expect(() => fast.add(wire[1]!.subarray(0, wire[1]!.length - 1))).toThrow(/past the end/);
    expect(() => fast.add(Buffer.from([0x0b]))).toThrow(/wire type/);
    rows.push(fast.add(wire[2]!));
    expect(comparable(fast.aggregate(rows))).toEqual(
      comparable(aggregateDnsQueries([records[0]!, records[2]!], { rawSampleOneIn: 1 })),
    );
  });

  it('reads DnsQueryBatch messages; a malformed one leaves nothing behind', { timeout: 60_000 }, () => {
    const records = randomQueries(21, 2000);
    const fast = new DnsQueryBatchAggregator({ rawSampleOneIn: 1, rawFormat: 'tab-separated' });
    const rows: number[] = [];
    for (let i = 0; i < records.length; i += 37) {
      fast.addBatch(encodeDnsQueryBatch({ queries: records.slice(i, i + 37) }), rows);
      // A batch cut short in its last query: its first queries read fine, and still nothing may stay.
      const broken = encodeDnsQueryBatch({ queries: records.slice(0, 5) });
      expect(() => fast.addBatch(broken.subarray(0, broken.length - 3), rows)).toThrow(/past the end/);
    }
    expect(rows).toHaveLength(records.length);
    expect(comparable(fast.aggregate(rows))).toEqual(
      comparable(aggregateDnsQueries(records, { rawSampleOneIn: 1 })),
    );
    // The generic decoder reads the same batches.
    const batch = encodeDnsQueryBatch({ queries: records.slice(0, 50) });
    expect(decodeDnsQueryBatch(batch)).toEqual(
      fromBinary(DnsQueryBatchSchema, new Uint8Array(batch)).queries,
    );
  });

  it('counts every query of a large batch exactly once', { timeout: 60_000 }, () => {
    const records = randomQueries(12, 60_000);
    const fast = new DnsQueryBatchAggregator({ rawSampleOneIn: 1, rawFormat: 'tab-separated' });
    const out = fast.aggregate(records.map((q) => fast.add(Buffer.from(encodeDnsQuery(q)))));
    const minute = out.find((o) => o.table.endsWith('dns_queries_1m'));
    const raw = out.find((o) => o.table.endsWith('dns_queries_raw'));
    expect(minute && 'rows' in minute && minute.rows.reduce((n, row) => n + (row.queries as number), 0)).toBe(
      60_000,
    );
    expect(raw && 'tabSeparated' in raw && raw.tabSeparated.rows).toBe(60_000);
  });
});

/** Column widths of dns_queries_raw (tables.ts), in RAW_QUERY_COLUMNS order: 'ms' DateTime64(3), 's' String, or bytes. */
const RAW_WIDTHS: readonly ('ms' | 's' | 1 | 2 | 4 | 8)[] = [
  'ms',
  's',
  's',
  2,
  's',
  1,
  1,
  2,
  's',
  's',
  2,
  1,
  1,
  1,
  2,
  8,
  4,
  4,
  2,
  1,
  1,
  4,
];

/** RowBinary raw rows read back, every value as text (numbers in decimal, times as milliseconds). */
function readRowBinary(data: Buffer): string[][] {
  const rows: string[][] = [];
  let p = 0;
  while (p < data.length) {
    const row: string[] = [];
    for (const width of RAW_WIDTHS) {
      if (width === 's') {
        let length = 0;
        let shift = 0;
        for (;;) {
          const b = data[p++]!;
          length += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
          shift += 7;
        }
        row.push(data.toString('utf8', p, p + length));
        p += length;
      } else if (width === 'ms' || width === 8) {
        row.push(data.readBigUInt64LE(p).toString());
        p += 8;
      } else {
        row.push(String(data.readUIntLE(p, width)));
        p += width;
      }
    }
    rows.push(row);
  }
  return rows;
}

/** TabSeparated raw rows (aggregateDnsQueries) as RowBinary would store them: unescaped, narrowed to the column. */
function readTabSeparated(data: Buffer): string[][] {
  const unescaped = (v: string) =>
    v.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  return data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) =>
      line.split('\t').map((v, i) => {
        const width = RAW_WIDTHS[i]!;
        if (width === 's') return unescaped(v);
        if (width === 'ms') {
          const [seconds, millis] = v.split('.');
          return String(BigInt(seconds!) * 1000n + BigInt(millis!));
        }
        return BigInt.asUintN(width * 8, BigInt(v)).toString();
      }),
    );
}

describe('raw rows as RowBinary (the processor default)', () => {
  it('hold the values of the TabSeparated rows, column for column', { timeout: 60_000 }, () => {
    const records = randomQueries(33, 5000);
    const wire = records.map((q) => Buffer.from(toBinary(DnsQuerySchema, q)));
    const binary = new DnsQueryBatchAggregator({ rawSampleOneIn: 1 });
    const text = new DnsQueryBatchAggregator({ rawSampleOneIn: 1, rawFormat: 'tab-separated' });
    const a = binary.aggregate(wire.map((bytes) => binary.add(bytes)));
    const b = text.aggregate(wire.map((bytes) => text.add(bytes)));
    // The rollups are the same outputs; only the raw table's format differs.
    expect(comparable(a.slice(0, 6))).toEqual(comparable(b.slice(0, 6)));
    const rawBinary = a[6];
    const rawText = b[6];
    if (!rawBinary || !('rowBinary' in rawBinary) || !rawText || !('tabSeparated' in rawText)) {
      throw new Error('expected RowBinary and TabSeparated raw outputs');
    }
    expect(rawBinary.rowBinary.columns).toEqual(rawText.tabSeparated.columns);
    expect(rawBinary.rowBinary.rows).toBe(5000);
    expect(readRowBinary(rawBinary.rowBinary.data)).toEqual(readTabSeparated(rawText.tabSeparated.data));
  });
});

describe('byte-keyed table', () => {
  it('finds every key it was given, across growth, and nothing else', () => {
    const table = new ByteKeyTable(16);
    const key = new Uint8Array(8);
    const keyOf = (i: number) => {
      new DataView(key.buffer).setUint32(0, i);
      key[4] = i % 7;
      return 4 + (i % 5);
    };
    for (let i = 0; i < 5000; i++) {
      const length = keyOf(i);
      const h = ByteKeyTable.hash(key, 0, length);
      expect(table.find(key, 0, length, h)).toBe(-1);
      expect(table.insert(key, 0, length, h)).toBe(i);
    }
    for (let i = 0; i < 5000; i++) {
      const length = keyOf(i);
      expect(table.find(key, 0, length, ByteKeyTable.hash(key, 0, length))).toBe(i);
    }
    table.clear();
    const length = keyOf(42);
    expect(table.find(key, 0, length, ByteKeyTable.hash(key, 0, length))).toBe(-1);
  });
});
