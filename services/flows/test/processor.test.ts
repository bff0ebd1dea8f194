import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { encodeFlowRecordBatch } from '@kansoku/contracts/flow-record-codec';
import { FlowProtocol, FlowRecordSchema, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateFlowRecords,
  flowMessageAccumulator,
  RAW_FLOW_COLUMNS,
  rawFlowRows,
  rollupPerHour,
  rollupPerMinute,
  rollupSourcePort,
} from '../src/processor.ts';
import { flowsMigrations } from '../src/tables.ts';

/** 2023-11-14 22:14:00 UTC, a minute boundary; the hour starts at 22:00. */
const M0 = 1_700_000_040;
const at = (seconds: number) => BigInt(M0 + seconds) * 1_000_000_000n;

function record(over: MessageInitShape<typeof FlowRecordSchema>) {
  return create(FlowRecordSchema, {
    timeReceivedNs: at(0),
    exporterAddress: parseIpAddress('192.0.2.1'),
    inInterface: 10,
    outInterface: 20,
    ipVersion: IpVersion.V4,
    protocol: 6,
    srcPort: 443,
    dstPort: 50_123,
    applicationName: 'HTTPS',
    srcAs: 64_500,
    dstAs: 64_501,
    bytes: 1500n,
    packets: 1n,
    ...over,
  });
}

const cell = (over: Record<string, unknown>) => ({
  time: M0,
  exporter: '192.0.2.1',
  in_interface: 10,
  out_interface: 20,
  ip_version: 4,
  protocol: 6,
  src_port: 443,
  application: 'HTTPS',
  src_as: 64_500,
  dst_as: 64_501,
  bytes: '1500',
  packets: '1',
  flows: 1,
  ...over,
});

describe('source port folding', () => {
  it('keeps well-known ports and the keep-list, folds other ports from 1024 up to 0', () => {
    expect([0, 53, 80, 443, 1023].map(rollupSourcePort)).toEqual([0, 53, 80, 443, 1023]);
    expect([8080, 8443, 3478].map(rollupSourcePort)).toEqual([8080, 8443, 3478]);
    expect([1024, 5353, 50_123, 65_535].map(rollupSourcePort)).toEqual([0, 0, 0, 0]);
  });
});

describe('flows rollups', () => {
  it('sums records of the same minute and key, keeps keys apart, and sorts by the table key', () => {
    const out = rollupPerMinute([
      record({ timeReceivedNs: at(61) }),
      record({}),
      record({ bytes: 500n, packets: 2n, dstPort: 60_000 }),
      record({ ipVersion: IpVersion.V6, bytes: 100n }),
      record({ exporterAddress: parseIpAddress('2001:db8::1') }),
      record({ srcPort: 50_000, dstPort: 443, bytes: 40n }),
      record({ srcPort: 51_000, dstPort: 443, bytes: 60n }),
      record({ srcAs: 64_499 }),
      record({ outInterface: 21 }),
    ]);
    expect(out.table).toBe('{{db}}.flows_traffic_1m');
    expect(out.rows).toEqual([
      cell({ src_port: 0, bytes: '100', packets: '2', flows: 2 }),
      cell({ src_as: 64_499 }),
      cell({ bytes: '2000', packets: '3', flows: 2 }),
      cell({ out_interface: 21 }),
      cell({ ip_version: 6, bytes: '100' }),
      cell({ exporter: '2001:db8::1' }),
      cell({ time: M0 + 60 }),
    ]);
  });

  it('sums the same cells per hour as per minute', () => {
    const records = [
      record({ timeReceivedNs: at(-14 * 60) }), // 22:00:00, the hour's first second
      record({ timeReceivedNs: at(0) }),
      record({ timeReceivedNs: at(45 * 60 + 59) }), // 22:59:59
      record({ timeReceivedNs: at(46 * 60) }), // 23:00:00, the next hour
      record({ timeReceivedNs: at(60), protocol: 17, applicationName: 'QUIC' }),
    ];
    const hour = M0 - 14 * 60;
    expect(rollupPerHour(records).rows).toEqual([
      cell({ time: hour, bytes: '4500', packets: '3', flows: 3 }),
      cell({ time: hour, protocol: 17, application: 'QUIC' }),
      cell({ time: hour + 3600 }),
    ]);
    const minuteBytes = rollupPerMinute(records).rows.reduce((n, r) => n + Number(r.bytes), 0);
    const hourBytes = rollupPerHour(records).rows.reduce((n, r) => n + Number(r.bytes), 0);
    expect(hourBytes).toBe(minuteBytes);
  });

  it('gives the same rollup rows for the same records in any order (replays must match)', () => {
    const records = [
      record({}),
      record({ protocol: 17, applicationName: 'QUIC' }),
      record({ timeReceivedNs: at(3 * 60) }),
      record({ srcPort: 8443, ipVersion: IpVersion.V6 }),
    ];
    const reversed = [...records].reverse();
    expect(rollupPerMinute(records)).toEqual(rollupPerMinute(reversed));
    expect(rollupPerHour(records)).toEqual(rollupPerHour(reversed));
  });
});

describe('raw flow rows', () => {
  let wh: TestWarehouse;
  beforeAll(async () => {
    wh = await openTestWarehouse({ prefix: 'kansoku-flows-raw-' });
    await migrate(wh.warehouse, flowsMigrations, { log: silentLogger() });
    // flows_raw's columns without its TTL: these 2023 rows would be dropped as expired on insert.
    await wh.warehouse.command(
      'CREATE TABLE {{db}}.raw_copy AS {{db}}.flows_raw ENGINE = MergeTree ORDER BY time_received ' +
        'SETTINGS non_replicated_deduplication_window = 100',
    );
  });
  afterAll(async () => wh?.close());

  it('keeps every field, times to the millisecond, as the engine reads them back', async () => {
    const first = record({
      timeReceivedNs: at(1) + 123_456_789n,
      timeFlowStartNs: at(-10) + 5_000_000n,
      timeFlowEndNs: at(0),
      flowProtocol: FlowProtocol.IPFIX,
      observationDomainId: 7,
      srcAddress: parseIpAddress('198.51.100.10'),
      dstAddress: parseIpAddress('203.0.113.20'),
      nextHopAddress: parseIpAddress('192.0.2.254'),
      srcPrefixLength: 24,
      dstPrefixLength: 16,
      tcpFlags: 0x12,
      samplingRate: 100,
      rawBytes: 15n,
      rawPackets: 1n,
      bytes: 1500n,
      packets: 100n,
      srcVlanId: 100,
    });
    const earlier = record({
      timeReceivedNs: at(0),
      srcAddress: new Uint8Array(0),
      nextHopAddress: new Uint8Array(0),
    });
    const v6 = record({
      timeReceivedNs: at(2),
      ipVersion: IpVersion.V6,
      srcAddress: parseIpAddress('2001:db8::10'),
      dstAddress: parseIpAddress('2001:db8:ff::1'),
      bytes: 2n ** 63n + 5n,
      dstAs: 4_294_967_295,
      inInterface: 4_000_000_000,
      applicationName: 'a\tb\nc\\ é',
    });
    const out = rawFlowRows([first, earlier, v6]);
    expect(out.table).toBe('{{db}}.flows_raw');
    expect(out.rowBinary.rows).toBe(3);
    await wh.warehouse.insertRowBinary('{{db}}.raw_copy', out.rowBinary, { dedupToken: 'raw-1' });
    await wh.warehouse.insertRowBinary('{{db}}.raw_copy', out.rowBinary, { dedupToken: 'raw-1' }); // a replay: stored once
    const rows = await wh.warehouse.query<Record<string, string>>(
      `SELECT ${RAW_FLOW_COLUMNS.map((c) => `toString(${c}) AS ${c}`).join(', ')} FROM {{db}}.raw_copy ORDER BY time_received`,
    );
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      time_received: '2023-11-14 22:14:00.000',
      src_address: '',
      next_hop: '',
    });
    expect(rows[1]).toEqual({
      time_received: '2023-11-14 22:14:01.123',
      time_flow_start: '2023-11-14 22:13:50.005',
      time_flow_end: '2023-11-14 22:14:00.000',
      exporter: '192.0.2.1',
      observation_domain_id: '7',
      flow_protocol: '3',
      in_interface: '10',
      out_interface: '20',
      direction: '0',
      ip_version: '4',
      src_address: '198.51.100.10',
      dst_address: '203.0.113.20',
      src_prefix_length: '24',
      dst_prefix_length: '16',
      src_port: '443',
      dst_port: '50123',
      protocol: '6',
      tcp_flags: '18',
      bytes: '1500',
      packets: '100',
      sampling_rate: '100',
      raw_bytes: '15',
      raw_packets: '1',
      src_as: '64500',
      dst_as: '64501',
      next_hop: '192.0.2.254',
      src_vlan_id: '100',
      dst_vlan_id: '0',
      application: 'HTTPS',
    });
    expect(rows[2]).toMatchObject({
      ip_version: '6',
      src_address: '2001:db8::10',
      dst_address: '2001:db8:ff::1',
      bytes: '9223372036854775813',
      dst_as: '4294967295',
      in_interface: '4000000000',
      application: 'a\tb\nc\\ é',
    });
  });

  it('writes the 1-minute, 1-hour and raw tables from Kafka messages, as from the records themselves', () => {
    const records = [record({}), record({ timeReceivedNs: at(90) })];
    const accumulator = flowMessageAccumulator();
    accumulator.add({ value: Buffer.from(encodeFlowRecordBatch(records)) });
    expect(accumulator.size).toBe(2);
    const outputs = accumulator.outputs();
    expect(
      outputs.map((o) => [o.table, 'rows' in o ? o.rows.length : 'rowBinary' in o ? o.rowBinary.rows : -1]),
    ).toEqual([
      ['{{db}}.flows_traffic_1m', 2],
      ['{{db}}.flows_traffic_1h', 1],
      ['{{db}}.flows_raw', 2],
    ]);
    const hour = outputs[1];
    expect(hour && 'rows' in hour ? hour.rows[0] : undefined).toMatchObject({ bytes: '3000', flows: 2 });
    expect(outputs).toEqual(aggregateFlowRecords(records));
  });

  it('reads the bytes exactly as the records: 5,000 random records, odd ones included', () => {
    const next = (() => {
      let a = 12345;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), a | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    })();
    const int = (bits: number) => Math.floor(next() * 2 ** bits);
    const big = () => (next() < 0.1 ? BigInt(int(32)) * 2n ** 32n + BigInt(int(32)) : BigInt(int(40)));
    const exporters = ['192.0.2.1', '192.0.2.2', '2001:db8::1'].map(parseIpAddress);
    const records = Array.from({ length: 5000 }, (_, i) =>
      record({
        timeReceivedNs: at(Math.floor(next() * 7200)) + BigInt(int(30)),
        timeFlowStartNs: next() < 0.2 ? 0n : at(-Math.floor(next() * 600)) + BigInt(int(30)),
        timeFlowEndNs: at(Math.floor(next() * 600)),
        exporterAddress: exporters[i % 3]!,
        observationDomainId: int(32),
        flowProtocol: int(3) as FlowProtocol,
        inInterface: int(next() < 0.5 ? 4 : 32),
        outInterface: int(4),
        ipVersion: (next() < 0.2 ? IpVersion.V6 : IpVersion.V4) as IpVersion,
        srcAddress: next() < 0.2 ? parseIpAddress('2001:db8::10') : Uint8Array.of(10, int(8), int(8), int(8)),
        dstAddress: next() < 0.1 ? new Uint8Array(0) : Uint8Array.of(203, 0, 113, int(8)),
        srcPort: next() < 0.5 ? 443 : int(16),
        dstPort: int(16),
        protocol: next() < 0.5 ? 6 : 17,
        tcpFlags: int(8),
        bytes: big(),
        packets: big(),
        samplingRate: int(10),
        rawBytes: big(),
        rawPackets: big(),
        srcAs: int(3) === 0 ? 0 : 64_500 + int(3),
        dstAs: int(32),
        nextHopAddress: next() < 0.5 ? new Uint8Array(0) : Uint8Array.of(192, 0, 2, 254),
        srcVlanId: int(12),
        dstVlanId: int(12),
        applicationName:
          ['', 'HTTPS', 'QUIC', 'HTTP', 'DNS', 'アプリ'][int(3) + (next() < 0.5 ? 1 : 0) * 2] ?? '',
      }),
    );
    // An unknown field makes a record take the general decoder; the output must not change.
    records[7]!.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(1) }];
    const accumulator = flowMessageAccumulator();
    for (let i = 0; i < records.length; i += 24) {
      accumulator.add({ value: Buffer.from(encodeFlowRecordBatch(records.slice(i, i + 24))) });
    }
    expect(accumulator.size).toBe(5000);
    const fromBytes = accumulator.outputs();
    const fromRecords = aggregateFlowRecords(records);
    expect(fromBytes[0]).toEqual(fromRecords[0]);
    expect(fromBytes[1]).toEqual(fromRecords[1]);
    const raw = (o: (typeof fromBytes)[number] | undefined) =>
      o && 'rowBinary' in o ? o.rowBinary.data : undefined;
    expect(Buffer.compare(raw(fromBytes[2])!, raw(fromRecords[2])!)).toBe(0);
    // The minute sums are the records' sums.
    const total = (rows: Record<string, unknown>[], key: string) =>
      rows.reduce((a, r) => a + BigInt(r[key] as string), 0n);
    const minute = fromBytes[0] && 'rows' in fromBytes[0] ? fromBytes[0].rows : [];
    expect(total(minute, 'bytes')).toBe(records.reduce((a, r) => a + r.bytes, 0n));
    expect(minute.reduce((a, r) => a + (r.flows as number), 0)).toBe(5000);
  });

  it('skips and counts a record whose bytes are invalid inside a batch, and refuses a batch that is not one', () => {
    const good = encodeFlowRecordBatch([record({ bytes: 7n })]);
    // Field 1 framing a 3-byte record that is a truncated varint: the record is skipped, its neighbours kept.
    const bad = Uint8Array.from([0x0a, 3, 0x08, 0xff, 0xff]);
    const accumulator = flowMessageAccumulator();
    accumulator.add({ value: Buffer.from([...good, ...bad, ...good]) });
    expect(accumulator.size).toBe(2);
    expect(accumulator.skipped).toBe(1);
    // A length past the end: not a batch at all; nothing is added.
    expect(() => accumulator.add({ value: Buffer.from([0x0a, 50, 1, 2]) })).toThrow();
    expect(accumulator.size).toBe(2);
  });
});
