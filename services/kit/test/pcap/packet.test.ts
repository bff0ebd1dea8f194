import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DecodedPacket,
  decodePacket,
  LinkType,
  PacketDecodeError,
  readPcapBuffer,
  tryDecodePacket,
} from '../../src/pcap/index.ts';
import { tsharkAvailable } from '../../src/testing/captures.ts';
import {
  classicPcap,
  ethernet,
  ipv4,
  ipv6,
  ipv6FragmentHeader,
  nullLoopback,
  sll,
  sll2,
  tcp,
  udp,
} from './synthetic.ts';

const payload = Buffer.from('netflow-ish payload');
const udp4 = ipv4('192.0.2.1', '198.51.100.7', 17, udp(40000, 2055, payload), { ttl: 61 });
const udp6 = ipv6('2001:db8::1', 'fe80::1:0:0:2', 17, udp(53, 33000, payload));

function codeOf(linkType: number, frame: Buffer): string {
  const result = tryDecodePacket(linkType, frame);
  return result.ok ? `decoded as ${result.packet.kind}` : result.error.code;
}

describe('link layers', () => {
  const cases: Array<[string, number, Buffer, 4 | 6]> = [
    ['Ethernet', LinkType.ETHERNET, ethernet(0x0800, udp4), 4],
    ['Ethernet, 802.1Q', LinkType.ETHERNET, ethernet(0x86dd, udp6, [{ tpid: 0x8100, id: 0x2064 }]), 6],
    [
      'Ethernet, QinQ',
      LinkType.ETHERNET,
      ethernet(0x0800, udp4, [
        { tpid: 0x88a8, id: 300 },
        { tpid: 0x8100, id: 100 },
      ]),
      4,
    ],
    ['Linux SLL', LinkType.LINUX_SLL, sll(0x0800, udp4), 4],
    ['Linux SLL2', LinkType.LINUX_SLL2, sll2(0x86dd, udp6), 6],
    ['raw IP (101), v4', LinkType.RAW, udp4, 4],
    ['raw IP (101), v6', LinkType.RAW, udp6, 6],
    ['IPv4 (228)', LinkType.IPV4, udp4, 4],
    ['IPv6 (229)', LinkType.IPV6, udp6, 6],
    ['null, little-endian AF_INET', LinkType.NULL, nullLoopback(2, 'le', udp4), 4],
    ['null, big-endian AF_INET6 (macOS)', LinkType.NULL, nullLoopback(30, 'be', udp6), 6],
    ['loop, AF_INET6 (FreeBSD)', LinkType.LOOP, nullLoopback(28, 'be', udp6), 6],
  ];
  for (const [name, linkType, frame, version] of cases) {
    it(`decodes UDP over ${name}`, () => {
      const packet = decodePacket(linkType, frame);
      expect(packet.kind).toBe('udp');
      if (packet.kind !== 'udp') return;
      expect(packet.ipVersion).toBe(version);
      expect(packet.payload.equals(payload)).toBe(true);
      if (version === 4) {
        expect(packet).toMatchObject({
          src: '192.0.2.1',
          dst: '198.51.100.7',
          srcPort: 40000,
          dstPort: 2055,
          ttl: 61,
        });
      } else {
        expect(packet).toMatchObject({
          src: '2001:db8::1',
          dst: 'fe80::1:0:0:2',
          srcPort: 53,
          dstPort: 33000,
        });
      }
    });
  }

  it('reports VLAN IDs outermost first, without the priority bits', () => {
    const packet = decodePacket(
      LinkType.ETHERNET,
      ethernet(0x0800, udp4, [
        { tpid: 0x88a8, id: 0xe000 | 300 },
        { tpid: 0x8100, id: 100 },
      ]),
    );
    expect(packet.vlanIds).toEqual([300, 100]);
  });

  it('follows an MPLS label stack to the IP packet', () => {
    const labels = Buffer.from([0x00, 0x01, 0x20, 0xff, 0x00, 0x01, 0x01, 0xff]); // 18, then 16 (bottom)
    const packet = decodePacket(LinkType.ETHERNET, ethernet(0x8847, Buffer.concat([labels, udp4])));
    expect(packet).toMatchObject({ kind: 'udp', mplsLabels: [18, 16], dstPort: 2055 });
  });

  it('excludes Ethernet padding from the UDP payload', () => {
    const tiny = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, Buffer.from('x')));
    const frame = ethernet(0x0800, tiny);
    expect(frame.length).toBe(60);
    const packet = decodePacket(LinkType.ETHERNET, frame);
    expect(packet.payload.toString()).toBe('x');
    expect(packet.truncated).toBe(false);
  });

  it('says what is not IP, or not a link type it knows', () => {
    expect(codeOf(LinkType.ETHERNET, ethernet(0x0806, Buffer.alloc(28)))).toBe('KANSOKU_PACKET_NOT_IP');
    expect(codeOf(LinkType.NULL, nullLoopback(7, 'le', udp4))).toBe('KANSOKU_PACKET_NOT_IP');
    expect(codeOf(127, udp4)).toBe('KANSOKU_PACKET_UNSUPPORTED_LINK_TYPE');
  });
});

describe('IP and transport', () => {
  it('decodes TCP past its options', () => {
    const segment = tcp(179, 51000, Buffer.from('BGP'), {
      seq: 0xfffffff0,
      ack: 12,
      flags: 0x18,
      options: Buffer.from([2, 4, 5, 0xb4, 1, 1, 4, 2]),
    });
    const packet = decodePacket(LinkType.RAW, ipv4('10.1.1.1', '10.1.1.2', 6, segment));
    expect(packet).toMatchObject({
      kind: 'tcp',
      srcPort: 179,
      dstPort: 51000,
      seq: 0xfffffff0,
      ack: 12,
      flags: 0x18,
    });
    expect(packet.payload.toString()).toBe('BGP');
  });

  it('reads past IPv4 options', () => {
    const withOptions = ipv4('10.0.0.1', '10.0.0.2', 17, udp(5, 6, payload), {
      options: Buffer.from([0x94, 4, 0, 0]),
    });
    expect(decodePacket(LinkType.RAW, withOptions)).toMatchObject({ kind: 'udp', srcPort: 5, dstPort: 6 });
  });

  it('reports IPv4 fragments as fragments', () => {
    const first = decodePacket(
      LinkType.RAW,
      ipv4('10.0.0.1', '10.0.0.2', 17, udp(53, 4000, Buffer.alloc(64)), { id: 0xbeef, moreFragments: true }),
    );
    expect(first).toMatchObject({
      kind: 'fragment',
      protocol: 17,
      fragment: { id: 0xbeef, offset: 0, moreFragments: true },
    });
    const last = decodePacket(
      LinkType.RAW,
      ipv4('10.0.0.1', '10.0.0.2', 17, Buffer.alloc(40, 1), { id: 0xbeef, fragmentOffset: 1480 }),
    );
    expect(last).toMatchObject({
      kind: 'fragment',
      fragment: { id: 0xbeef, offset: 1480, moreFragments: false },
    });
    expect(last.payload.length).toBe(40);
  });

  it('walks IPv6 extension headers to the transport', () => {
    const hopByHop = { type: 0, body: Buffer.from([5, 2, 0, 0, 1, 0]) }; // router alert, PadN
    const destination = { type: 60, body: Buffer.alloc(14) };
    const routing = { type: 43, body: Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0]), Buffer.alloc(16)]) };
    const packet = decodePacket(
      LinkType.IPV6,
      ipv6('2001:db8::1', '2001:db8::2', 17, udp(123, 124, payload), [hopByHop, routing, destination]),
    );
    expect(packet).toMatchObject({ kind: 'udp', protocol: 17, srcPort: 123, dstPort: 124 });
    expect(packet.payload.equals(payload)).toBe(true);
  });

  it('reports IPv6 fragments, and reads through an atomic fragment', () => {
    const fragment = decodePacket(
      LinkType.IPV6,
      ipv6('2001:db8::1', '2001:db8::2', 17, Buffer.alloc(24), [
        { type: 0, body: Buffer.alloc(6) },
        ipv6FragmentHeader(0x28403c0b, 1448, false),
      ]),
    );
    expect(fragment).toMatchObject({
      kind: 'fragment',
      protocol: 17,
      fragment: { id: 0x28403c0b, offset: 1448, moreFragments: false },
    });
    expect(fragment.payload.length).toBe(24);
    const atomic = decodePacket(
      LinkType.IPV6,
      ipv6('2001:db8::1', '2001:db8::2', 17, udp(1000, 2000, payload), [ipv6FragmentHeader(9, 0, false)]),
    );
    expect(atomic).toMatchObject({ kind: 'udp', srcPort: 1000, dstPort: 2000 });
  });

  it('passes other protocols through with their IP payload', () => {
    const icmp = Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]);
    expect(decodePacket(LinkType.RAW, ipv4('10.0.0.1', '10.0.0.2', 1, icmp))).toMatchObject({
      kind: 'other',
      protocol: 1,
      payload: icmp,
    });
    expect(decodePacket(LinkType.RAW, ipv6('::1', '::1', 59, Buffer.alloc(0)))).toMatchObject({
      kind: 'other',
      protocol: 59,
    });
  });

  it('marks a packet cut by the snap length as truncated', () => {
    const cut = udp4.subarray(0, udp4.length - 5);
    const packet = decodePacket(LinkType.RAW, cut);
    expect(packet).toMatchObject({ kind: 'udp', truncated: true });
    expect(packet.payload.length).toBe(payload.length - 5);
  });
});

describe('malformed frames', () => {
  it('fails with a stable code, never an untyped error', () => {
    expect(codeOf(LinkType.ETHERNET, Buffer.alloc(10))).toBe('KANSOKU_PACKET_TRUNCATED');
    expect(codeOf(LinkType.RAW, udp4.subarray(0, 24))).toBe('KANSOKU_PACKET_TRUNCATED');
    expect(codeOf(LinkType.RAW, Buffer.alloc(0))).toBe('KANSOKU_PACKET_TRUNCATED');
    const badVersion = Buffer.from(udp4);
    badVersion[0] = 0x55;
    expect(codeOf(LinkType.RAW, badVersion)).toBe('KANSOKU_PACKET_MALFORMED');
    expect(codeOf(LinkType.IPV4, udp6)).toBe('KANSOKU_PACKET_MALFORMED');
    const shortHeader = Buffer.from(udp4);
    shortHeader[0] = 0x44;
    expect(codeOf(LinkType.RAW, shortHeader)).toBe('KANSOKU_PACKET_MALFORMED');
    const badUdpLength = Buffer.from(udp4);
    badUdpLength.writeUInt16BE(3, 20 + 4);
    expect(codeOf(LinkType.RAW, badUdpLength)).toBe('KANSOKU_PACKET_MALFORMED');
    const tooManyTags = ethernet(
      0x0800,
      udp4,
      Array.from({ length: 20 }, () => ({ tpid: 0x8100, id: 1 })),
    );
    expect(codeOf(LinkType.ETHERNET, tooManyTags)).toBe('KANSOKU_PACKET_MALFORMED');
    const extensionOverrun = ipv6('::1', '::2', 17, Buffer.alloc(0), [{ type: 60, body: Buffer.alloc(6) }]);
    extensionOverrun[41] = 200; // extension header length far past the packet
    expect(codeOf(LinkType.IPV6, extensionOverrun)).toBe('KANSOKU_PACKET_TRUNCATED');
  });

  it('survives every truncation and random bytes', () => {
    const frames: Array<[number, Buffer]> = [
      [LinkType.ETHERNET, ethernet(0x86dd, udp6, [{ tpid: 0x8100, id: 5 }])],
      [LinkType.LINUX_SLL2, sll2(0x0800, ipv4('1.1.1.1', '2.2.2.2', 6, tcp(1, 2, payload)))],
      [LinkType.IPV6, ipv6('::1', '::2', 17, udp(1, 2, payload), [ipv6FragmentHeader(1, 0, false)])],
    ];
    for (const [linkType, frame] of frames) {
      for (let length = 0; length <= frame.length; length++) {
        const result = tryDecodePacket(linkType, frame.subarray(0, length));
        if (!result.ok) expect(result.error).toBeInstanceOf(PacketDecodeError);
      }
    }
    let seed = 11;
    for (let round = 0; round < 2000; round++) {
      const frame = Buffer.alloc(80);
      for (let i = 0; i < frame.length; i++) {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        frame[i] = seed & 0xff;
      }
      frame[0] = round % 2 === 0 ? 0x45 : 0x60;
      for (const linkType of [LinkType.RAW, LinkType.ETHERNET]) {
        const result = tryDecodePacket(linkType, frame);
        if (!result.ok) expect(result.error).toBeInstanceOf(PacketDecodeError);
      }
    }
  });
});

describe.skipIf(!tsharkAvailable())('against tshark', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kansoku-packet-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('decodes the synthetic link layers to the addresses and ports tshark finds', () => {
    const byLinkType = new Map<number, Buffer[]>([
      [
        LinkType.ETHERNET,
        [
          ethernet(0x0800, udp4, [
            { tpid: 0x88a8, id: 300 },
            { tpid: 0x8100, id: 100 },
          ]),
        ],
      ],
      [LinkType.LINUX_SLL, [sll(0x0800, udp4)]],
      [LinkType.LINUX_SLL2, [sll2(0x86dd, udp6)]],
      [LinkType.RAW, [udp4, udp6]],
      [LinkType.NULL, [nullLoopback(2, 'le', udp4)]],
    ]);
    for (const [linkType, frames] of byLinkType) {
      const path = join(tmp, `link-${linkType}.pcap`);
      const file = classicPcapOf(linkType, frames);
      writeFileSync(path, file);
      const fields = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'udp.srcport', 'udp.dstport'];
      const theirs = execFileSync(
        'tshark',
        ['-r', path, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      )
        .toString()
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t'));
      const ours = [...readPcapBuffer(file)].map((p) => summary(decodePacket(p.linkType, p.data)));
      expect(ours).toEqual(
        theirs.map(([src4, src6, dst4, dst6, srcPort, dstPort]) => [
          src4 || src6,
          dst4 || dst6,
          srcPort,
          dstPort,
        ]),
      );
    }
  });
});

function classicPcapOf(linkType: number, frames: Buffer[]): Buffer {
  return classicPcap({
    endian: 'le',
    nanoseconds: false,
    linkType,
    records: frames.map((data, i) => ({ seconds: i, fraction: 0, data })),
  });
}

function summary(packet: DecodedPacket): string[] {
  const ports = packet.kind === 'udp' || packet.kind === 'tcp' ? [packet.srcPort, packet.dstPort] : ['', ''];
  return [packet.src, packet.dst, String(ports[0]), String(ports[1])];
}
