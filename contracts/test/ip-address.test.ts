import { describe, expect, it } from 'vitest';
import {
  formatIpAddress,
  formatMacAddress,
  InvalidIpAddressError,
  parseIpAddress,
} from '../src/ip-address.ts';

describe('formatIpAddress', () => {
  it.each([
    [[192, 0, 2, 1], '192.0.2.1'],
    [[0, 0, 0, 0], '0.0.0.0'],
    [[255, 255, 255, 255], '255.255.255.255'],
  ])('IPv4 %j → %s', (octets, text) => {
    expect(formatIpAddress(Uint8Array.from(octets))).toBe(text);
  });

  // RFC 5952 section 4: lower case, no leading zeros, longest zero run compressed (the first on a tie), a single
  // zero group not compressed.
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['20010db800000000000100000000abcd', '2001:db8::1:0:0:abcd'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
  ])('IPv6 %s → %s', (hex, text) => {
    expect(formatIpAddress(Uint8Array.from(Buffer.from(hex, 'hex')))).toBe(text);
  });

  it('gives an empty string for no address and hex for an odd length', () => {
    expect(formatIpAddress(new Uint8Array())).toBe('');
    expect(formatIpAddress(Uint8Array.from([1, 2, 0xab]))).toBe('hex:0102ab');
  });
});

describe('parseIpAddress', () => {
  it.each([
    '192.0.2.1',
    '2001:db8::1',
    '2001:db8:0:1::1',
    '::',
    '::1',
    'fe80::',
    '::ffff:192.0.2.1',
    '1:2:3:4:5:6:7:8',
  ])('round-trips %s', (text) => {
    expect(formatIpAddress(parseIpAddress(text))).toBe(text);
  });

  it('parses non-canonical forms to the same octets', () => {
    expect(parseIpAddress('2001:DB8:0:0:0:0:0:1')).toEqual(parseIpAddress('2001:db8::1'));
    expect(parseIpAddress('::ffff:c000:201')).toEqual(parseIpAddress('::ffff:192.0.2.1'));
    expect(parseIpAddress('192.0.2.1')).toEqual(Uint8Array.from([192, 0, 2, 1]));
  });

  it.each([
    '',
    '192.0.2',
    '192.0.2.256',
    '192.0.2.01',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '1:2:3:4:5:6:7::8',
    '12345::',
    '1.2.3.4::',
    'example.jp',
  ])('rejects %j', (text) => {
    expect(() => parseIpAddress(text)).toThrow(InvalidIpAddressError);
  });
});

describe('formatMacAddress', () => {
  it('formats octets with colons', () => {
    expect(formatMacAddress(Uint8Array.from([2, 0, 0x5e, 0x10, 0, 0xff]))).toBe('02:00:5e:10:00:ff');
  });
});
