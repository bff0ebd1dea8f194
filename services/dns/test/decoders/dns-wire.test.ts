import { describe, expect, it } from 'vitest';
import { buildDnsQuery, buildDnsResponse } from '../../src/decoders/dns-build.ts';
import { DnsWireError, parseDnsMessage, readName, tryParseDnsMessage } from '../../src/decoders/dns-wire.ts';

function code(buf: Uint8Array): string | undefined {
  const result = tryParseDnsMessage(buf);
  return result.ok ? undefined : result.error.code;
}

describe('DNS wire parser', () => {
  it('reads header flags, counts, the question and EDNS of a query', () => {
    const q = buildDnsQuery({
      id: 0xbeef,
      name: 'WWW.Example.JP',
      type: 28,
      edns: { udpSize: 4096, dnssecOk: true },
    });
    const m = parseDnsMessage(q);
    expect(m).toMatchObject({
      id: 0xbeef,
      response: false,
      opcode: 0,
      recursionDesired: true,
      truncated: false,
      rcode: 0,
      questionCount: 1,
      answerCount: 0,
      additionalCount: 1,
      question: { name: 'www.example.jp.', type: 28, class: 1 },
      edns: { udpSize: 4096, dnssecOk: true, version: 0, extendedRcode: 0 },
      size: q.length,
      incomplete: false,
    });
  });

  it('reads a response: answers counted past compressed names, extended rcode from OPT (BADVERS 16)', () => {
    const spec = { id: 1, name: 'a.example.', type: 1, edns: {} };
    const r = parseDnsMessage(
      buildDnsResponse(spec, { rcode: 16, answers: 3, truncated: true, authoritative: true }),
    );
    expect(r).toMatchObject({
      response: true,
      authoritative: true,
      truncated: true,
      answerCount: 3,
      rcode: 16,
    });
    expect(r.edns?.extendedRcode).toBe(1);
    expect(parseDnsMessage(buildDnsResponse(spec, { rcode: 3 })).rcode).toBe(3);
  });

  it('reads the root and escapes special octets in presentation format', () => {
    const root = buildDnsQuery({ id: 2, name: '.', type: 2 });
    expect(parseDnsMessage(root).question?.name).toBe('.');
    const odd = Buffer.from([4, 0x61, 0x2e, 0x5c, 0x00, 3, 0x41, 0x20, 0xff, 0]);
    expect(readName(odd, 0)).toEqual({ name: 'a\\.\\\\\\000.a\\032\\255.', next: 10 });
  });

  it('follows backward pointers and refuses loops, forward pointers and overlong names', () => {
    // "example." at 0, then "www" + pointer to 0 at 9.
    const buf = Buffer.from([7, ...Buffer.from('example'), 0, 3, ...Buffer.from('www'), 0xc0, 0]);
    expect(readName(buf, 9)).toEqual({ name: 'www.example.', next: 15 });
    const self = Buffer.from([0xc0, 0]);
    expect(() => readName(self, 0)).toThrow(DnsWireError);
    const loop = Buffer.from([1, 0x61, 0xc0, 0x04, 1, 0x62, 0xc0, 0x00]);
    expect(() => readName(loop, 4)).toThrow(/not backwards/);
    const long = Buffer.concat([
      ...Array.from({ length: 5 }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])),
      Buffer.from([0]),
    ]);
    expect(() => readName(long, 0)).toThrow(/longer than 255/);
    expect(() => readName(Buffer.from([0x40, 0]), 0)).toThrow(/label type/);
  });

  it('fails with a code on a message cut in its header or question; marks one cut in its records incomplete', () => {
    const spec = { id: 3, name: 'cut.example.', type: 1, edns: {} };
    const response = buildDnsResponse(spec, { answers: 2, rcode: 2 });
    expect(code(response.subarray(0, 11))).toBe('KANSOKU_DNS_TRUNCATED');
    expect(code(response.subarray(0, 20))).toBe('KANSOKU_DNS_TRUNCATED');
    const questionEnd = 12 + 'cut.example.'.length + 1 + 4;
    expect(code(response.subarray(0, questionEnd - 1))).toBe('KANSOKU_DNS_TRUNCATED');
    const cut = parseDnsMessage(response.subarray(0, questionEnd + 5));
    expect(cut).toMatchObject({
      incomplete: true,
      rcode: 2,
      answerCount: 2,
      question: { name: 'cut.example.' },
    });
    for (let n = 0; n <= response.length; n++) tryParseDnsMessage(response.subarray(0, n));
  });

  it('returns a message without a question when QDCOUNT is 0', () => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(0x8185, 2); // response, RD, RA, REFUSED
    expect(parseDnsMessage(header)).toMatchObject({ question: undefined, rcode: 5, response: true });
  });
});
