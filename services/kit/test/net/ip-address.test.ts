import { describe, expect, it } from 'vitest';
import { formatIPAddress, formatIPv4, formatIPv6, TruncatedInputError } from '../../src/net/index.ts';

function v6(hex: string): Buffer {
  return Buffer.from(hex.replace(/[^0-9a-f]/gi, ''), 'hex');
}

describe('IP address text', () => {
  it('formats IPv4 at an offset', () => {
    expect(formatIPv4(Buffer.from([0, 192, 0, 2, 255]), 1)).toBe('192.0.2.255');
  });

  it('follows RFC 5952 for IPv6', () => {
    expect(formatIPv6(v6('2001 0db8 0000 0000 0000 0000 0000 0001'))).toBe('2001:db8::1');
    expect(formatIPv6(v6('0000 0000 0000 0000 0000 0000 0000 0000'))).toBe('::');
    expect(formatIPv6(v6('0000 0000 0000 0000 0000 0000 0000 0001'))).toBe('::1');
    expect(formatIPv6(v6('fe80 0000 0000 0000 0000 0000 0000 0000'))).toBe('fe80::');
    // a single zero group is not compressed
    expect(formatIPv6(v6('2001 0db8 0000 0001 0001 0001 0001 0001'))).toBe('2001:db8:0:1:1:1:1:1');
    // the longest run wins, the first on a tie
    expect(formatIPv6(v6('2001 0000 0000 0001 0000 0000 0000 0001'))).toBe('2001:0:0:1::1');
    expect(formatIPv6(v6('2001 0db8 0000 0000 0001 0000 0000 0001'))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(v6('0000 0000 0000 0000 0000 ffff c000 0201'))).toBe('::ffff:192.0.2.1');
    expect(formatIPv6(v6('2a00 1450 4013 0c03 0000 0000 0000 010a'))).toBe('2a00:1450:4013:c03::10a');
  });

  it('agrees with the WHATWG URL serializer on random addresses', () => {
    let seed = 3;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.alloc(16);
      // mostly zero groups, so that runs of every length occur
      for (let group = 0; group < 8; group++) {
        if (next() % 3 === 0) bytes.writeUInt16BE(next() & 0xffff, group * 2);
      }
      if (bytes.subarray(0, 10).every((b) => b === 0) && bytes.readUInt16BE(10) === 0xffff) continue;
      const text = formatIPv6(bytes);
      expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
    }
  });

  it('checks bounds and sizes', () => {
    expect(() => formatIPv4(Buffer.alloc(3))).toThrow(TruncatedInputError);
    expect(() => formatIPv6(Buffer.alloc(16), 1)).toThrow(TruncatedInputError);
    expect(formatIPAddress(Buffer.from([10, 0, 0, 1]))).toBe('10.0.0.1');
    expect(() => formatIPAddress(Buffer.alloc(5))).toThrow(RangeError);
  });
});
