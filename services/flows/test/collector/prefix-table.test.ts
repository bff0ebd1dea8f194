import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { ConfigError } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createPrefixAsTable, parsePrefixEntry } from '../../src/collector/prefix-table.ts';

const lookup = (table: ReturnType<typeof createPrefixAsTable>, address: string) =>
  table.originAs(parseIpAddress(address));

describe('prefix → origin AS table', () => {
  it('matches IPv4 by the longest covering prefix', () => {
    const table = createPrefixAsTable([
      '10.0.0.0/8=64500',
      '10.1.0.0/16=64501',
      '10.1.2.0/24=64502',
      '10.1.2.128/25=64503',
      '192.0.2.7/32=64510',
    ]);
    expect(table.size).toBe(5);
    expect(lookup(table, '10.9.9.9')).toBe(64500);
    expect(lookup(table, '10.1.9.9')).toBe(64501);
    expect(lookup(table, '10.1.2.3')).toBe(64502);
    expect(lookup(table, '10.1.2.200')).toBe(64503);
    expect(lookup(table, '192.0.2.7')).toBe(64510);
    expect(lookup(table, '192.0.2.8')).toBeUndefined();
    expect(lookup(table, '11.0.0.1')).toBeUndefined();
  });

  it('matches IPv6 by the longest covering prefix, apart from IPv4', () => {
    const table = createPrefixAsTable(['2001:db8::/32=64501', '2001:db8:1::/48=64502', '0.0.0.0/0=65000']);
    expect(lookup(table, '2001:db8:ffff::1')).toBe(64501);
    expect(lookup(table, '2001:db8:1:2::1')).toBe(64502);
    expect(lookup(table, '2001:db9::1')).toBeUndefined();
    // The IPv4 default route covers every IPv4 address and no IPv6 one.
    expect(lookup(table, '203.0.113.9')).toBe(65000);
    expect(lookup(table, '::ffff:1')).toBeUndefined();
  });

  it('has a default route when given one, whatever the order of entries', () => {
    const table = createPrefixAsTable(['2001:db8:1::/48=64502', '::/0=64999', '2001:db8::/32=64501']);
    expect(lookup(table, '2001:db8:1::9')).toBe(64502);
    expect(lookup(table, '2001:db8:2::9')).toBe(64501);
    expect(lookup(table, '2a00::1')).toBe(64999);
  });

  it('answers undefined for an address that is neither 4 nor 16 octets', () => {
    const table = createPrefixAsTable(['0.0.0.0/0=1']);
    expect(table.originAs(new Uint8Array(0))).toBeUndefined();
    expect(table.originAs(new Uint8Array(6))).toBeUndefined();
  });

  it('accepts spaces and an AS prefix', () => {
    expect(parsePrefixEntry(' 192.0.2.0/24 = AS64500 ', 'k')).toMatchObject({ length: 24, asn: 64500 });
  });

  it.each([
    ['192.0.2.0/24', /not a prefix=AS entry/],
    ['192.0.2.0=64500', /not a prefix=AS entry/],
    ['192.0.2.0/33=64500', /prefix length 33 is longer than 32 bits/],
    ['2001:db8::/129=64500', /prefix length 129 is longer than 128 bits/],
    ['192.0.2.300/24=64500', /'192\.0\.2\.300' is not an IPv4 or IPv6 address/],
    ['192.0.2.0/24=0', /AS 0 is not between 1 and 4294967295/],
    ['192.0.2.0/24=4294967296', /AS 4294967296 is not between/],
    ['192.0.2.1/24=64500', /host bits are set \(did you mean 192\.0\.2\.0\/24\?\)/],
    ['2001:db8::1/32=64500', /did you mean 2001:db8::\/32\?/],
  ])('rejects %s, naming the entry', (entry, message) => {
    const build = () => createPrefixAsTable(['198.51.100.0/24=64496', entry], 'flowsCollector.prefixes');
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
    expect(build).toThrow(/^flowsCollector\.prefixes\[1\]: /);
  });

  it('rejects one prefix mapped to two AS numbers, and accepts a repeat of the same mapping', () => {
    expect(() => createPrefixAsTable(['192.0.2.0/24=1', '192.0.2.0/24=2'])).toThrow(
      /prefixes\[1\]: .*already mapped to AS 1/,
    );
    expect(createPrefixAsTable(['192.0.2.0/24=1', '192.0.2.0/24=1']).size).toBe(1);
  });
});
