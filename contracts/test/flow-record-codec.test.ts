import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  decodeFlowRecord,
  decodeFlowRecordBatch,
  encodeFlowRecord,
  encodeFlowRecordBatch,
} from '../src/flow-record-codec.ts';
import {
  FlowDirection,
  FlowProtocol,
  FlowRecordSchema,
  IpVersion,
} from '../src/gen/kansoku/flows/v1/flows_pb.ts';
import { FlowRecordBatchSchema } from '../src/gen/kansoku/flows/v2/flows_pb.ts';
import { parseIpAddress } from '../src/ip-address.ts';

function record(init: MessageInitShape<typeof FlowRecordSchema>) {
  return create(FlowRecordSchema, init);
}

/** mulberry32, inline: contracts depends on nothing of ours. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('hand-written FlowRecord encoder', () => {
  it('writes the same bytes as toBinary for an empty, a full and an extreme record', () => {
    const cases = [
      record({}),
      record({
        timeReceivedNs: 1_795_560_000_123_456_789n,
        timeFlowStartNs: 1_795_559_990_000_000_000n,
        timeFlowEndNs: 1_795_560_000_000_000_000n,
        exporterAddress: parseIpAddress('192.0.2.1'),
        observationDomainId: 7,
        flowProtocol: FlowProtocol.IPFIX,
        exportSequenceNumber: 4_210_974,
        inInterface: 12,
        outInterface: 300,
        direction: FlowDirection.EGRESS,
        ipVersion: IpVersion.V6,
        srcAddress: parseIpAddress('2001:db8::10'),
        dstAddress: parseIpAddress('2001:db8:ff00::20'),
        srcPrefixLength: 48,
        dstPrefixLength: 64,
        srcPort: 443,
        dstPort: 51_234,
        protocol: 17,
        tcpFlags: 0x1b,
        bytes: 1_500_000n,
        packets: 1000n,
        samplingRate: 1024,
        rawBytes: 1464n,
        rawPackets: 1n,
        srcAs: 64_496,
        dstAs: 4_294_967_295,
        nextHopAddress: parseIpAddress('2001:db8::1'),
        srcVlanId: 100,
        dstVlanId: 4094,
        applicationName: 'QUIC',
      }),
      record({
        timeReceivedNs: 0xffff_ffff_ffff_ffffn,
        bytes: 0x1_0000_0000n,
        packets: 0x7fff_ffff_ffffn,
        inInterface: 0xffff_ffff,
        applicationName: 'アプリ',
      }),
    ];
    for (const r of cases)
      expect(Buffer.from(encodeFlowRecord(r))).toEqual(Buffer.from(toBinary(FlowRecordSchema, r)));
  });

  it('agrees with toBinary on 20,000 random records', () => {
    for (const r of randomRecords(42, 20_000)) {
      const ours = encodeFlowRecord(r);
      const theirs = toBinary(FlowRecordSchema, r);
      if (Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) !== 0) {
        expect(Buffer.from(ours).toString('hex')).toEqual(Buffer.from(theirs).toString('hex'));
      }
    }
  });

  it('hands records with unknown fields to toBinary', () => {
    const r = record({ srcPort: 80 });
    r.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(1) }];
    expect(Buffer.from(encodeFlowRecord(r))).toEqual(Buffer.from(toBinary(FlowRecordSchema, r)));
  });
});

function* randomRecords(seed: number, count: number) {
  const next = random(seed);
  const int = (bits: number) => Math.floor(next() * 2 ** bits);
  const big = (bits: number) =>
    BigInt(int(Math.min(bits, 52))) * (bits > 52 ? BigInt(int(bits - 52) + 1) : 1n);
  const address = () =>
    next() < 0.2 ? new Uint8Array() : Uint8Array.from({ length: next() < 0.5 ? 4 : 16 }, () => int(8));
  for (let i = 0; i < count; i++) {
    yield record({
      timeReceivedNs: big(63),
      timeFlowStartNs: next() < 0.3 ? 0n : big(63),
      timeFlowEndNs: big(40),
      exporterAddress: address(),
      observationDomainId: int(32),
      flowProtocol: int(2),
      exportSequenceNumber: int(32),
      inInterface: int(next() < 0.5 ? 7 : 32),
      outInterface: int(16),
      direction: int(2),
      ipVersion: int(2),
      srcAddress: address(),
      dstAddress: address(),
      srcPrefixLength: int(7),
      dstPrefixLength: int(7),
      srcPort: int(16),
      dstPort: int(16),
      protocol: int(8),
      tcpFlags: int(8),
      bytes: big(48),
      packets: big(30),
      samplingRate: int(14),
      rawBytes: big(20),
      rawPackets: big(10),
      srcAs: int(32),
      dstAs: int(32),
      nextHopAddress: address(),
      srcVlanId: int(12),
      dstVlanId: int(12),
      applicationName: ['', 'HTTPS', 'QUIC', 'HTTP', 'DNS'][int(2) + (next() < 0.5 ? 1 : 0)] ?? '',
    });
  }
}

describe('hand-written FlowRecord decoder', () => {
  it('reads what fromBinary reads, on 20,000 random records', () => {
    let compared = 0;
    for (const r of randomRecords(7, 20_000)) {
      const bytes = toBinary(FlowRecordSchema, r);
      const ours = decodeFlowRecord(bytes);
      const theirs = fromBinary(FlowRecordSchema, bytes);
      // Field by field (a deep toEqual per record would take most of a minute); toEqual only on a difference.
      for (const key of Object.keys(theirs) as (keyof typeof theirs)[]) {
        const a = ours[key];
        const b = theirs[key];
        const same =
          a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.compare(a, b) === 0 : a === b;
        if (!same) expect(ours).toEqual(theirs);
        compared++;
      }
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    }
    expect(compared).toBe(20_000 * 31);
  });

  it('keeps negative enum values and unknown fields as fromBinary does', () => {
    const r = record({ srcPort: 80, direction: -3 as never, applicationName: 'アプリ' });
    r.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(1) }];
    const bytes = toBinary(FlowRecordSchema, r);
    expect(decodeFlowRecord(bytes)).toEqual(fromBinary(FlowRecordSchema, bytes));
    expect(decodeFlowRecord(bytes).direction).toBe(-3);
  });

  it('throws what fromBinary throws on truncated input, and keeps working after', () => {
    const bytes = toBinary(
      FlowRecordSchema,
      record({ srcAddress: Uint8Array.of(10, 0, 0, 1), bytes: 1500n }),
    );
    for (let cut = 1; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      let theirs: unknown;
      try {
        theirs = fromBinary(FlowRecordSchema, truncated);
      } catch (error) {
        theirs = error;
      }
      if (theirs instanceof Error) expect(() => decodeFlowRecord(truncated)).toThrow();
      else expect(decodeFlowRecord(truncated)).toEqual(theirs);
    }
    expect(decodeFlowRecord(bytes).bytes).toBe(1500n);
  });
});

describe('FlowRecordBatch codec', () => {
  const batchBytes = (records: ReturnType<typeof record>[]) =>
    toBinary(FlowRecordBatchSchema, create(FlowRecordBatchSchema, { records }));

  it('writes the bytes toBinary writes, for batches of 0 to 300 random records (the buffer grows)', () => {
    const all = [...randomRecords(11, 2_000)];
    let at = 0;
    for (const size of [0, 1, 2, 24, 300, 1000]) {
      const records = all.slice(at, at + size);
      at = (at + size) % 1000;
      expect(Buffer.from(encodeFlowRecordBatch(records))).toEqual(Buffer.from(batchBytes(records)));
    }
  });

  it('encodes records the fast encoder cannot (unknown fields, negative enums) through toBinary', () => {
    const odd = record({ srcPort: 53, direction: -1 as never });
    odd.$unknown = [{ no: 77, wireType: 0, data: Uint8Array.of(5) }];
    const records = [record({ bytes: 1n }), odd, record({ bytes: 2n })];
    expect(Buffer.from(encodeFlowRecordBatch(records))).toEqual(Buffer.from(batchBytes(records)));
  });

  it('reads what fromBinary reads, and returns each record as decodeFlowRecord does', () => {
    const records = [...randomRecords(12, 500)];
    const bytes = encodeFlowRecordBatch(records);
    const ours = decodeFlowRecordBatch(bytes);
    expect(ours).toEqual(fromBinary(FlowRecordBatchSchema, bytes).records);
    expect(ours).toHaveLength(500);
    expect(decodeFlowRecordBatch(new Uint8Array(0))).toEqual([]);
  });

  it('throws on a truncated batch, as fromBinary does, and reads an unexpected field through fromBinary', () => {
    const bytes = encodeFlowRecordBatch([record({ bytes: 1500n, srcPort: 443 }), record({ packets: 2n })]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      let theirs: unknown;
      try {
        theirs = fromBinary(FlowRecordBatchSchema, truncated).records;
      } catch (error) {
        theirs = error;
      }
      if (theirs instanceof Error) expect(() => decodeFlowRecordBatch(truncated)).toThrow();
      else expect(decodeFlowRecordBatch(truncated)).toEqual(theirs);
    }
    // An unknown varint field 2 before the records: not the fast path, same records.
    const withExtra = Uint8Array.from([0x10, 0x01, ...bytes]);
    expect(decodeFlowRecordBatch(withExtra)).toEqual(fromBinary(FlowRecordBatchSchema, withExtra).records);
    expect(decodeFlowRecordBatch(withExtra)).toHaveLength(2);
  });
});
