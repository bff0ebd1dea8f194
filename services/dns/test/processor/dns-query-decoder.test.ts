import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { seededRandom } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { decodeDnsQueryFast } from '../../src/processor/dns-query-decoder.ts';

describe('hand-written DnsQuery decoder', () => {
  it('gives what fromBinary gives on 20,000 random records', () => {
    const r = seededRandom(11);
    const int = (n: number) => Math.floor(r() * n);
    const big = () => BigInt(int(2 ** 31)) * BigInt(int(2 ** 31)) + BigInt(int(1000));
    for (let i = 0; i < 20_000; i++) {
      const q = create(DnsQuerySchema, {
        timeQueryNs: r() < 0.1 ? 0n : big(),
        timeReceivedNs: big(),
        clientAddress:
          r() < 0.1 ? new Uint8Array() : Uint8Array.from({ length: r() < 0.5 ? 4 : 16 }, () => int(256)),
        clientPort: int(65536),
        serverAddress: Uint8Array.from({ length: 4 }, () => int(256)),
        serverPort: r() < 0.5 ? 53 : int(65536),
        ipVersion: int(3),
        transport: int(6),
        messageId: int(65536),
        qname: r() < 0.05 ? 'ünïcode.例え.jp.' : `h${int(1e6)}.example.jp.`,
        qtype: int(65536),
        qclass: int(3),
        recursionDesired: r() < 0.5,
        dnssecOk: r() < 0.5,
        querySizeBytes: int(2 ** 32),
        responseSeen: r() < 0.5,
        rcode: int(4096),
        responseTimeUs: BigInt(int(2 ** 40)),
        responseSizeBytes: int(70_000),
        answerCount: int(100),
        truncated: r() < 0.5,
        source: int(4),
        resolverIdentity: r() < 0.5 ? '' : `r${int(10)}`,
      });
      const wire = Buffer.from(toBinary(DnsQuerySchema, q));
      // fromBinary of a Buffer returns Buffer views; of a plain Uint8Array, plain arrays like ours.
      expect(decodeDnsQueryFast(wire)).toEqual(fromBinary(DnsQuerySchema, new Uint8Array(wire)));
    }
  });

  it('skips unknown fields and rejects truncated input', () => {
    const q = create(DnsQuerySchema, { qname: 'a.jp.', qtype: 1, timeQueryNs: 5n });
    const known = Buffer.from(toBinary(DnsQuerySchema, q));
    // Field 99 as a varint, a length-delimited field 100, a fixed64 field 101 and a fixed32 field 102.
    const unknown = Buffer.from([
      0x98, 0x06, 0x05, 0xa2, 0x06, 0x02, 0x61, 0x62, 0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xb5, 0x06, 1, 2, 3,
      4,
    ]);
    const decoded = decodeDnsQueryFast(Buffer.concat([known, unknown]));
    expect(decoded.qname).toBe('a.jp.');
    expect(decoded.timeQueryNs).toBe(5n);
    expect(() => decodeDnsQueryFast(known.subarray(0, known.length - 1))).toThrow(/past the end/);
    expect(() => decodeDnsQueryFast(Buffer.from([0x0b]))).toThrow(/wire type/);
    for (let cut = 0; cut < known.length; cut++) {
      try {
        decodeDnsQueryFast(known.subarray(0, cut));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('KANSOKU_DNS_QUERY_MALFORMED');
      }
    }
  });
});
