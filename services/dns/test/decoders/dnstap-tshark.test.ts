/**
 * tshark does not read Frame Streams files, so the DNS messages embedded in the public dnstap capture are
 * written into a pcap (raw IPv4/IPv6 + UDP, with the addresses and ports the dnstap messages carry) and
 * tshark's DNS dissector decodes them: its view of every message (id, flags, name, type, class, counts,
 * rcode, EDNS size and DO bit) must equal ours. Also done for messages built here with odd names,
 * compression and extended rcodes.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capturesPresent, capturesRoot, tsharkAvailable } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';
import { buildDnsQuery, buildDnsResponse } from '../../src/decoders/dns-build.ts';
import { parseDnsMessage } from '../../src/decoders/dns-wire.ts';
import { decodeDnstap } from '../../src/decoders/dnstap.ts';
import { readFstrmBuffer } from '../../src/decoders/fstrm-file.ts';

const haveTshark = tsharkAvailable();
if (!haveTshark) console.warn('tshark not installed: the dnstap oracle test is skipped');

interface Datagram {
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** A classic pcap of raw-IP (LINKTYPE_RAW) UDP datagrams. */
function pcap(datagrams: Datagram[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(101, 20);
  parts.push(header);
  datagrams.forEach((d, i) => {
    const udp = Buffer.alloc(8 + d.payload.length);
    udp.writeUInt16BE(d.srcPort, 0);
    udp.writeUInt16BE(d.dstPort, 2);
    udp.writeUInt16BE(udp.length, 4);
    udp.set(d.payload, 8);
    let ip: Buffer;
    if (d.src.length === 4) {
      ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + udp.length, 2);
      ip[8] = 64;
      ip[9] = 17;
      ip.set(d.src, 12);
      ip.set(d.dst, 16);
    } else {
      ip = Buffer.alloc(40);
      ip[0] = 0x60;
      ip.writeUInt16BE(udp.length, 4);
      ip[6] = 17;
      ip[7] = 64;
      ip.set(d.src, 8);
      ip.set(d.dst, 24);
    }
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + i, 0);
    record.writeUInt32LE(ip.length + udp.length, 8);
    record.writeUInt32LE(ip.length + udp.length, 12);
    parts.push(record, ip, udp);
  });
  return Buffer.concat(parts);
}

const FIELDS = [
  'dns.id',
  'dns.flags.response',
  'dns.flags.recdesired',
  'dns.flags.truncated',
  'dns.flags.rcode',
  'dns.count.queries',
  'dns.count.answers',
  'dns.qry.name',
  'dns.qry.type',
  'dns.qry.class',
  'dns.rr.udp_payload_size',
  'dns.resp.z.do',
  'dns.resp.ext_rcode',
];

function tsharkView(file: string): string[][] {
  const args = ['-r', file, '-Y', 'dns', '-T', 'fields', '-E', 'occurrence=f'];
  for (const f of FIELDS) args.push('-e', f);
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim()
    .split('\n')
    .map((line) => line.split('\t'));
}

const bool = (text: string | undefined) => text === '1' || text === 'True';
const num = (text: string | undefined) => (text === undefined || text === '' ? undefined : Number(text));

/** Our decode in the shape of tshark's fields. */
function ourView(payload: Uint8Array) {
  const m = parseDnsMessage(payload);
  return {
    id: m.id,
    response: m.response,
    rd: m.recursionDesired,
    tc: m.truncated,
    rcode: m.rcode & 0x0f,
    questions: m.questionCount,
    answers: m.answerCount,
    name: m.question?.name,
    type: m.question?.type,
    class: m.question?.class,
    udpSize: m.edns?.udpSize,
    dnssecOk: m.edns === undefined ? undefined : m.edns.dnssecOk,
    extendedRcode: m.edns?.extendedRcode,
  };
}

function theirView(fields: string[]) {
  const [id, response, rd, tc, rcode, questions, answers, name, type, klass, udpSize, dnssecOk, ext] = fields;
  return {
    id: Number(id),
    response: bool(response),
    rd: bool(rd),
    tc: bool(tc),
    rcode: Number(rcode),
    questions: Number(questions),
    answers: Number(answers),
    name: name === '<Root>' ? '.' : `${name!.toLowerCase()}.`,
    type: num(type),
    class: num(klass),
    udpSize: num(udpSize),
    dnssecOk: udpSize === '' ? undefined : bool(dnssecOk),
    extendedRcode: num(ext),
  };
}

function compareWithTshark(datagrams: Datagram[]) {
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-dnstap-tshark-'));
  try {
    const file = join(dir, 'messages.pcap');
    writeFileSync(file, pcap(datagrams));
    const theirs = tsharkView(file).map(theirView);
    expect(theirs).toHaveLength(datagrams.length);
    expect(datagrams.map((d) => ourView(d.payload))).toEqual(theirs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!haveTshark)('DNS messages: tshark agrees', () => {
  it.skipIf(!capturesPresent('dns'))('on the messages embedded in dnstap.fstrm', () => {
    const { frames } = readFstrmBuffer(readFileSync(join(capturesRoot(), 'dns', 'dnstap.fstrm')));
    const datagrams: Datagram[] = [];
    for (const frame of frames) {
      const m = decodeDnstap(frame).message!;
      if (m.queryMessage)
        datagrams.push({
          src: m.queryAddress!,
          dst: m.responseAddress!,
          srcPort: m.queryPort,
          dstPort: m.responsePort,
          payload: m.queryMessage,
        });
      if (m.responseMessage)
        datagrams.push({
          src: m.responseAddress!,
          dst: m.queryAddress!,
          srcPort: m.responsePort,
          dstPort: m.queryPort,
          payload: m.responseMessage,
        });
    }
    expect(datagrams).toHaveLength(2);
    compareWithTshark(datagrams);
  });

  it('on built queries and responses: EDNS, DO, extended rcodes, compression, the root, odd labels', () => {
    const v4 = Uint8Array.from([192, 0, 2, 1]);
    const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
    const server = Uint8Array.from([192, 0, 2, 53]);
    const datagrams: Datagram[] = [];
    const specs = [
      { id: 1, name: 'www.Example.JP.', type: 1, edns: { udpSize: 1232, dnssecOk: true } },
      { id: 2, name: '.', type: 2 },
      { id: 3, name: 'a-b_c.example.', type: 65, recursionDesired: false, edns: { udpSize: 4096 } },
      { id: 4, name: `${'x'.repeat(63)}.${'y'.repeat(63)}.example.`, type: 28, edns: {} },
    ];
    for (const [i, spec] of specs.entries()) {
      const src = i % 2 === 0 ? v4 : v6;
      const dst = i % 2 === 0 ? server : v6;
      datagrams.push({ src, dst, srcPort: 40000 + i, dstPort: 53, payload: buildDnsQuery(spec) });
      const response = buildDnsResponse(spec, {
        answers: i + 1,
        rcode: [0, 3, 16, 2][i]!,
        truncated: i === 3,
      });
      datagrams.push({ src: dst, dst: src, srcPort: 53, dstPort: 40000 + i, payload: response });
    }
    compareWithTshark(datagrams);
  });
});
