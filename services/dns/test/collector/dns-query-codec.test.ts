import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { DnsQueryBatchSchema } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';
import { seededRandom } from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';
import {
  DnsQueryBatchBuilder,
  encodeDnsQuery,
  encodeDnsQueryBatch,
} from '../../src/collector/dns-query-codec.ts';

describe('encodeDnsQuery', () => {
  it('writes exactly the bytes of toBinary, defaults and large values included', () => {
    const random = seededRandom(20261125);
    const int = (below: number) => Math.floor(random() * below);
    const maybe = <T>(value: T, zero: T) => (random() < 0.3 ? zero : value);
    expect(encodeDnsQuery(create(DnsQuerySchema, {}))).toEqual(
      toBinary(DnsQuerySchema, create(DnsQuerySchema, {})),
    );
    for (let i = 0; i < 5000; i++) {
      const q = create(DnsQuerySchema, {
        timeQueryNs: maybe(BigInt(int(2 ** 31)) * 1_000_000_000n + BigInt(int(1e9)), 0n),
        timeReceivedNs: maybe(2n ** 63n - 1n - BigInt(int(1000)), 0n),
        clientAddress: maybe(
          Uint8Array.from({ length: random() < 0.5 ? 4 : 16 }, () => int(256)),
          new Uint8Array(),
        ),
        clientPort: maybe(int(65536), 0),
        serverAddress: maybe(Uint8Array.from([192, 0, 2, 1]), new Uint8Array()),
        serverPort: maybe(53, 0),
        ipVersion: int(3),
        transport: int(6),
        messageId: maybe(int(65536), 0),
        qname: maybe(`${'a'.repeat(int(60))}.\\046x\\\\.example.jp.`, ''),
        qtype: maybe(int(65536), 0),
        qclass: maybe(1, 0),
        recursionDesired: random() < 0.5,
        dnssecOk: random() < 0.5,
        querySizeBytes: maybe(int(65536), 0),
        responseSeen: random() < 0.5,
        rcode: maybe(int(4096), 0),
        responseTimeUs: maybe(BigInt(int(2 ** 40)), 0n),
        responseSizeBytes: maybe(int(65536), 0),
        answerCount: maybe(int(65536), 0),
        truncated: random() < 0.5,
        source: int(4),
        resolverIdentity: maybe(random() < 0.5 ? 'unbound-1.example' : 'résolveur-東京', ''),
      });
      const bytes = encodeDnsQuery(q);
      // Compared as hex: vitest's deep equality on byte arrays is slow for thousands of cases.
      expect(Buffer.from(bytes).toString('hex')).toBe(
        Buffer.from(toBinary(DnsQuerySchema, q)).toString('hex'),
      );
      if (i % 100 === 0) expect(fromBinary(DnsQuerySchema, bytes)).toEqual(q);
    }
  });

  it('falls back to toBinary for records it does not size', () => {
    const q = create(DnsQuerySchema, { qname: `${'x'.repeat(5000)}.`, resolverIdentity: 'r' });
    expect(encodeDnsQuery(q)).toEqual(toBinary(DnsQuerySchema, q));
  });
});

describe('DnsQueryBatch encoder', () => {
  it('writes the bytes of toBinary for batches of 0 to 300 queries, one builder reused', () => {
    const random = seededRandom(7);
    const int = (below: number) => Math.floor(random() * below);
    const builder = new DnsQueryBatchBuilder();
    for (let n = 0; n <= 300; n += 1 + int(40)) {
      const queries = Array.from({ length: n }, (_, i) =>
        create(DnsQuerySchema, {
          timeQueryNs: BigInt(int(2 ** 31)) * 1_000_000_000n,
          clientAddress: Uint8Array.from({ length: 16 }, () => int(256)),
          messageId: i,
          // Now and then a query the generic encoder writes (over 127 bytes: a two-byte length too).
          qname: random() < 0.05 ? `${'y'.repeat(3000)}.` : `h${int(1e6)}.example.jp.`,
          qtype: 28,
          resolverIdentity: 'r',
        }),
      );
      for (const q of queries) builder.append(q);
      expect(builder.count).toBe(n);
      const expected = Buffer.from(
        toBinary(DnsQueryBatchSchema, create(DnsQueryBatchSchema, { queries })),
      ).toString('hex');
      expect(builder.take().toString('hex')).toBe(expected);
      expect(builder.count).toBe(0);
      expect(encodeDnsQueryBatch({ queries }).toString('hex')).toBe(expected);
    }
  });
});
