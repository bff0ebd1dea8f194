/**
 * Query-log lines recorded from real resolvers (fixtures/README.md): Unbound with log-queries and
 * log-replies in both timestamp styles, and BIND's querylog.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import { rcodeNumber, rrTypeName, rrTypeNumber } from '../../src/decoders/dns-names.ts';
import { parseQueryLogLine, QueryLogAssembler } from '../../src/decoders/query-log.ts';
import { parseSyslog } from '../../src/decoders/syslog.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

function assemble(lines: string[], receivedNs = 1_795_566_100_000_000_000n) {
  const records: DnsQuery[] = [];
  const assembler = new QueryLogAssembler({ pairingTimeoutMs: 10_000, maxPending: 100 }, (r) =>
    records.push(r),
  );
  for (const line of lines) assembler.line(line, 'resolver-a', receivedNs);
  assembler.flush();
  return { records, stats: assembler.stats() };
}

const summary = (r: DnsQuery) =>
  [
    formatIpAddress(r.clientAddress),
    r.qname,
    rrTypeName(r.qtype),
    r.responseSeen ? r.rcode : '-',
    r.responseSizeBytes,
  ].join(' ');

describe('Unbound log-queries / log-replies', () => {
  it('pairs every query line with its reply line (epoch timestamps)', () => {
    const { records, stats } = assemble(fixture('unbound-log-queries-replies.log'));
    expect(stats).toMatchObject({
      queries: 13,
      replies: 13,
      paired: 13,
      unpaired: 0,
      repliesAlone: 0,
      pending: 0,
    });
    expect(stats.unparsed).toEqual({ 'other-line': 4 }); // start of service, service stopped (two runs)
    expect(records.map(summary)).toEqual([
      '127.0.0.1 www.example.test. A 0 61',
      '127.0.0.1 www.example.test. AAAA 0 73',
      '127.0.0.1 example.test. MX 0 62',
      '127.0.0.1 txt.example.test. TXT 0 71',
      '127.0.0.1 nope.example.test. A 3 46',
      '127.0.0.1 random123.invalid. A 3 46',
      '127.0.0.1 x.refused.test. A 5 43',
      '127.0.0.1 www.example.test. A 0 61',
      '::1 www.example.test. AAAA 0 73',
      '127.0.0.1 www.example.test. A 0 61',
      '127.0.0.1 10.2.0.192.in-addr.arpa. PTR 3 111',
      '127.0.0.1 a.broken.test. A 3 101',
      '127.0.0.1 a.broken.kansoku. A 2 45',
    ]);
    expect(records[0]).toMatchObject({
      timeQueryNs: 1_795_566_013_000_000_000n,
      source: 2,
      resolverIdentity: 'resolver-a',
      ipVersion: 1,
      qclass: 1,
    });
    expect(records[8]!.ipVersion).toBe(2);
  });

  it('reads log-time-ascii timestamps and query:/reply: tags', () => {
    const { records, stats } = assemble(fixture('unbound-log-time-ascii-tagged.log'));
    expect(stats).toMatchObject({ queries: 6, replies: 6, paired: 6 });
    expect(records.map(summary)).toContain('127.0.0.1 www.example.test. HTTPS 0 45');
    expect(records.map(summary)).toContain('127.0.0.1 a.broken.kansoku. A 2 45');
    const t = new Date(Number(records[0]!.timeQueryNs / 1_000_000n));
    expect([t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()]).toEqual([
      10, 25, 0, 21, 38,
    ]);
  });

  it('publishes a query alone when its reply line does not come, and a reply alone with its duration', () => {
    const [, query, reply] = fixture('unbound-log-queries-replies.log');
    const records: DnsQuery[] = [];
    const assembler = new QueryLogAssembler({ pairingTimeoutMs: 1000, maxPending: 100 }, (r) =>
      records.push(r),
    );
    assembler.line(query!, 'r', 0n);
    assembler.expire(1_795_566_013_000 + 999);
    expect(records).toHaveLength(0);
    assembler.expire(1_795_566_013_000 + 1000);
    expect(records).toHaveLength(1);
    expect(records[0]!.responseSeen).toBe(false);
    const alone = reply!.replace('0.000000', '1.250000');
    assembler.line(alone, 'r', 0n);
    expect(records[1]).toMatchObject({ responseSeen: true, responseTimeUs: 1_250_000n, rcode: 0 });
    expect(records[1]!.timeQueryNs).toBe(1_795_566_013_000_000_000n - 1_250_000_000n);
    expect(assembler.stats()).toMatchObject({ unpaired: 1, repliesAlone: 1 });
  });

  it('pairs identical concurrent queries first in, first out', () => {
    const [, query, reply] = fixture('unbound-log-queries-replies.log');
    const { records, stats } = assemble([query!, query!, reply!, reply!]);
    expect(records).toHaveLength(2);
    expect(stats).toMatchObject({ paired: 2, unpaired: 0, repliesAlone: 0 });
  });
});

describe('BIND querylog', () => {
  it('reads every query with its client port, flags and transport', () => {
    const { records, stats } = assemble(fixture('bind-querylog.log'));
    expect(stats).toMatchObject({ lines: 11, queries: 11, records: 11, unparsed: {} });
    expect(records.every((r) => !r.responseSeen && r.source === 2)).toBe(true);
    expect(records[0]).toMatchObject({
      qname: 'www.example.test.',
      qtype: 1,
      clientPort: 42845,
      transport: 1,
      recursionDesired: true,
      dnssecOk: false,
    });
    expect(formatIpAddress(records[0]!.serverAddress)).toBe('127.0.0.1');
    expect(new Date(Number(records[0]!.timeQueryNs / 1_000_000n)).getMilliseconds()).toBe(752);
    expect(records[5]).toMatchObject({ qname: 'www.example.test.', qtype: 65 }); // WWW.Example.Test lower-cased
    expect(records[6]).toMatchObject({ transport: 2, ipVersion: 2, qtype: 28 }); // +tcp over ::1
    expect(records[7]).toMatchObject({ recursionDesired: false, dnssecOk: true }); // +dnssec +norec
  });
});

describe('lines that are not queries', () => {
  it('are told apart: unknown format, other resolver lines, bad fields', () => {
    expect(parseQueryLogLine('hello world')).toEqual({ ok: false, reason: 'unknown-format' });
    expect(
      parseQueryLogLine('[1795566012] unbound[17152:0] info: start of service (unbound 1.17.1).'),
    ).toEqual({
      ok: false,
      reason: 'other-line',
    });
    expect(parseQueryLogLine('[1795566013] unbound[1:0] info: 127.0.0.1 www.example.test. BOGUS IN')).toEqual(
      {
        ok: false,
        reason: 'bad-field',
      },
    );
    expect(
      parseQueryLogLine('[1795566013] unbound[1:0] reply: 127.0.0.1 x. A IN WHAT 0.000000 1 61'),
    ).toEqual({
      ok: false,
      reason: 'bad-field',
    });
    expect(parseQueryLogLine('client @0x1 300.1.1.1#53 (x): query: x IN A + (127.0.0.1)')).toEqual({
      ok: false,
      reason: 'bad-field',
    });
  });

  it('knows mnemonics and RFC 3597 forms', () => {
    expect(rrTypeNumber('https')).toBe(65);
    expect(rrTypeNumber('TYPE65534')).toBe(65534);
    expect(rrTypeNumber('TYPE65536')).toBeUndefined();
    expect(rcodeNumber('RCODE12')).toBe(12);
    expect(rrTypeName(28)).toBe('AAAA');
    expect(rrTypeName(4000)).toBe('TYPE4000');
  });
});

describe('syslog headers', () => {
  it('reads RFC 5424 and RFC 3164 and takes anything else whole', () => {
    const m = parseSyslog(
      '<30>1 2026-11-25T00:21:38.123456+00:00 ns1.example unbound 20143 - - [20143:0] info: x',
    );
    expect(m).toMatchObject({
      format: 'rfc5424',
      hostname: 'ns1.example',
      appName: 'unbound',
      message: '[20143:0] info: x',
    });
    expect(m.timeNs).toBe(1_795_566_098_123_456_000n);
    const b = parseSyslog(
      '<30>Nov 25 00:21:38 ns2 named[99]: client @0x1 127.0.0.1#5 (a): query: a IN A + (::1)',
    );
    expect(b).toMatchObject({ format: 'rfc3164', hostname: 'ns2', appName: 'named' });
    expect(b.message).toBe('client @0x1 127.0.0.1#5 (a): query: a IN A + (::1)');
    expect(parseSyslog('plain line')).toMatchObject({ format: 'none', message: 'plain line' });
  });
});
