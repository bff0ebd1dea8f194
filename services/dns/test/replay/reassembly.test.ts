import type { DecodedFragment, DecodedTcpPacket } from '@kansoku/kit/pcap/index';
import { describe, expect, it } from 'vitest';
import { buildDnsQuery, buildDnsResponse } from '../../src/decoders/dns-build.ts';
import { parseDnsMessage } from '../../src/decoders/dns-wire.ts';
import { IpReassembler, parseUdpDatagram } from '../../src/replay/ip-reassembly.ts';
import { TcpDnsStreams } from '../../src/replay/tcp-streams.ts';

function segment(seq: number, payload: Buffer, flags = 0x18): DecodedTcpPacket {
  return {
    kind: 'tcp',
    ipVersion: 4,
    src: '192.0.2.1',
    dst: '192.0.2.53',
    protocol: 6,
    ttl: 64,
    vlanIds: [],
    mplsLabels: [],
    truncated: false,
    srcPort: 40000,
    dstPort: 53,
    payload,
    seq,
    ack: 0,
    flags,
  };
}

function framed(messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]));
}

describe('TCP DNS streams', () => {
  const messages = Array.from({ length: 5 }, (_, i) =>
    buildDnsQuery({ id: i, name: `m${i}.example.`, type: 1, edns: {} }),
  );
  const stream = framed(messages);

  it('reassembles messages split across segments, out of order, retransmitted, across seq wraparound', () => {
    const isn = 0xffffff00; // wraps within the stream
    const seen: number[] = [];
    const tcp = new TcpDnsStreams({ maxStreams: 10, maxOutOfOrder: 16 }, (m) =>
      seen.push(parseDnsMessage(m).id),
    );
    tcp.segment(segment(isn, Buffer.alloc(0), 0x02)); // SYN
    const base = (isn + 1) >>> 0;
    const cuts = [0, 1, 7, 40, 41, 90, 150, stream.length];
    const pieces = cuts.slice(0, -1).map((from, i) => ({ from, to: cuts[i + 1]! }));
    // Out of order: the third piece first, then the rest, with a retransmission of the first and an overlap.
    const order = [2, 0, 0, 1, 4, 3, 5, 6];
    for (const i of order) {
      const p = pieces[i]!;
      tcp.segment(segment((base + p.from) >>> 0, stream.subarray(p.from, p.to)));
    }
    tcp.segment(segment((base + 30) >>> 0, stream.subarray(30, 60))); // overlap of what is already in
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const stats = tcp.stats();
    expect(stats.messages).toBe(5);
    expect(stats.outOfOrderSegments).toBeGreaterThan(0);
    expect(stats.retransmittedSegments).toBeGreaterThan(0);
  });

  it('forgets a stream at FIN and bounds the number of streams', () => {
    const seen: Buffer[] = [];
    const tcp = new TcpDnsStreams({ maxStreams: 2, maxOutOfOrder: 2 }, (m) => seen.push(m));
    tcp.segment(segment(100, stream.subarray(0, 10)));
    tcp.segment(segment(110, Buffer.alloc(0), 0x11));
    expect(tcp.stats().streams).toBe(0);
    for (let port = 0; port < 5; port++) tcp.segment({ ...segment(1, stream.subarray(0, 3)), srcPort: port });
    expect(tcp.stats().streams).toBe(2);
    expect(tcp.stats().streamsDropped).toBe(3);
  });
});

describe('IP fragment reassembly', () => {
  const response = buildDnsResponse({ id: 9, name: 'big.example.', type: 16, edns: {} }, { answers: 120 });
  const udp = Buffer.concat([
    Buffer.from([0, 53, 0x9c, 0x40, (response.length + 8) >> 8, (response.length + 8) & 0xff, 0, 0]),
    response,
  ]);

  function fragments(id: number, size = 504): DecodedFragment[] {
    const out: DecodedFragment[] = [];
    for (let offset = 0; offset < udp.length; offset += size) {
      out.push({
        kind: 'fragment',
        ipVersion: 6,
        src: '2001:db8::53',
        dst: '2001:db8::1',
        protocol: 17,
        ttl: 64,
        vlanIds: [],
        mplsLabels: [],
        truncated: false,
        fragment: { id, offset, moreFragments: offset + size < udp.length },
        payload: udp.subarray(offset, offset + size),
      });
    }
    return out;
  }

  it('reassembles fragments in any order into the UDP datagram', () => {
    const r = new IpReassembler({ maxDatagrams: 4, timeoutMs: 1000 });
    const parts = fragments(1);
    expect(parts.length).toBeGreaterThan(3);
    const order = [...parts].reverse();
    const results = order.map((f) => r.add(f, 0));
    const whole = results.at(-1)!;
    expect(results.slice(0, -1).every((x) => x === undefined)).toBe(true);
    const datagram = parseUdpDatagram(whole)!;
    expect(datagram.srcPort).toBe(53);
    expect(parseDnsMessage(datagram.data).answerCount).toBe(120);
    expect(r.stats()).toMatchObject({ reassembled: 1, inProgress: 0 });
  });

  it('drops incomplete datagrams after the timeout and inconsistent overlaps', () => {
    const r = new IpReassembler({ maxDatagrams: 4, timeoutMs: 1000 });
    const parts = fragments(2);
    r.add(parts[0]!, 0);
    r.add(fragments(3)[0]!, 2000);
    expect(r.stats().timedOut).toBe(1);
    const evil = fragments(4);
    const forged = { ...evil[1]!, payload: Buffer.alloc(evil[1]!.payload.length, 0x41) };
    const shifted = { ...forged, fragment: { ...forged.fragment, offset: forged.fragment.offset - 8 } };
    for (const f of [evil[0]!, shifted, ...evil.slice(1)]) r.add(f, 3000);
    expect(r.stats().invalid).toBe(1);
  });
});
