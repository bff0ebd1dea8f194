/**
 * BMP (RFC 7854) messages of one router with one peer sending a synthetic full table: Initiation, Peer Up (with
 * both OPENs: 4-octet AS, IPv4 and IPv6 unicast), Route Monitoring messages each carrying one BGP UPDATE that
 * packs a group of prefixes sharing one attribute set (IPv4 in NLRI, IPv6 in MP_REACH_NLRI), and End-of-RIB for
 * both families. Written for the bgp-full-table benchmark; the station decodes it with the project's parser.
 */

import type { SyntheticGroup } from './full-table-synthetic.ts';

const BMP_VERSION = 3;
const BMP_ROUTE_MONITORING = 0;
const BMP_PEER_UP = 3;
const BMP_INITIATION = 4;

export interface BmpPeer {
  /** IPv4 neighbour address. */
  address: Uint8Array;
  asn: number;
  bgpId: Uint8Array;
  localAddress: Uint8Array;
  localAsn: number;
}

function bmp(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = BMP_VERSION;
  header.writeUInt32BE(6 + body.length, 1);
  header[5] = type;
  return Buffer.concat([header, body]);
}

/** Per-peer header: global instance, IPv4 peer, post-policy flag clear (Adj-RIB-In pre-policy). */
function perPeerHeader(peer: BmpPeer, timeMs: number): Buffer {
  const h = Buffer.alloc(42);
  h[0] = 0;
  h[1] = 0;
  h.set(peer.address, 10 + 12);
  h.writeUInt32BE(peer.asn, 26);
  h.set(peer.bgpId, 30);
  h.writeUInt32BE(Math.floor(timeMs / 1000), 34);
  h.writeUInt32BE((timeMs % 1000) * 1000, 38);
  return h;
}

function bgpMessage(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(19, 0xff);
  header.writeUInt16BE(19 + body.length, 16);
  header[18] = type;
  return Buffer.concat([header, body]);
}

function open(asn: number, bgpId: Uint8Array): Buffer {
  const capabilities = Buffer.from([
    // Multiprotocol IPv4 unicast, IPv6 unicast.
    1,
    4,
    0,
    1,
    0,
    1,
    1,
    4,
    0,
    2,
    0,
    1,
    // 4-octet AS.
    65,
    4,
    (asn >>> 24) & 0xff,
    (asn >>> 16) & 0xff,
    (asn >>> 8) & 0xff,
    asn & 0xff,
  ]);
  const body = Buffer.alloc(10);
  body[0] = 4;
  body.writeUInt16BE(asn > 0xffff ? 23_456 : asn, 1);
  body.writeUInt16BE(180, 3);
  body.set(bgpId, 5);
  body[9] = capabilities.length + 2;
  return bgpMessage(1, Buffer.concat([body, Buffer.from([2, capabilities.length]), capabilities]));
}

export function initiation(sysName: string): Buffer {
  const tlv = (type: number, text: string) => {
    const value = Buffer.from(text);
    const t = Buffer.alloc(4);
    t.writeUInt16BE(type, 0);
    t.writeUInt16BE(value.length, 2);
    return Buffer.concat([t, value]);
  };
  return bmp(BMP_INITIATION, Buffer.concat([tlv(1, 'kansoku bgp-full-table sender'), tlv(2, sysName)]));
}

export function peerUp(peer: BmpPeer, timeMs: number): Buffer {
  const local = Buffer.alloc(20);
  local.set(peer.localAddress, 12);
  local.writeUInt16BE(179, 16);
  local.writeUInt16BE(50_179, 18);
  return bmp(
    BMP_PEER_UP,
    Buffer.concat([
      perPeerHeader(peer, timeMs),
      local,
      open(peer.localAsn, peer.localAddress),
      open(peer.asn, peer.bgpId),
    ]),
  );
}

function attribute(flags: number, type: number, value: Buffer): Buffer {
  if (value.length > 255) {
    const h = Buffer.alloc(4);
    h[0] = flags | 0x10;
    h[1] = type;
    h.writeUInt16BE(value.length, 2);
    return Buffer.concat([h, value]);
  }
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

function nlri(prefixes: SyntheticGroup['prefixes']): Buffer {
  const parts: Buffer[] = [];
  for (const p of prefixes) {
    const octets = (p.length + 7) >>> 3;
    parts.push(Buffer.from([p.length]), Buffer.from(p.address.subarray(0, octets)));
  }
  return Buffer.concat(parts);
}

/** One UPDATE announcing the group's prefixes with its attributes (4-octet AS session). */
export function groupUpdate(group: SyntheticGroup): Buffer {
  const path = Buffer.alloc(2 + 4 * group.asPath.length);
  path[0] = 2;
  path[1] = group.asPath.length;
  for (const [i, asn] of group.asPath.entries()) path.writeUInt32BE(asn, 2 + 4 * i);
  const med = Buffer.alloc(4);
  med.writeUInt32BE(group.med);
  const communities = Buffer.alloc(4 * group.communities.length);
  for (const [i, c] of group.communities.entries()) communities.writeUInt32BE(c >>> 0, 4 * i);
  const attributes = [attribute(0x40, 1, Buffer.from([0])), attribute(0x40, 2, path)];
  let announced: Buffer = Buffer.alloc(0);
  if (group.family === 4) {
    attributes.push(attribute(0x40, 3, Buffer.from(group.nextHop)));
    announced = nlri(group.prefixes);
  } else {
    const reach = Buffer.concat([
      Buffer.from([0, 2, 1, 16]),
      Buffer.from(group.nextHop),
      Buffer.from([0]),
      nlri(group.prefixes),
    ]);
    attributes.push(attribute(0x80, 14, reach));
  }
  attributes.push(attribute(0x80, 4, med));
  if (communities.length > 0) attributes.push(attribute(0xc0, 8, communities));
  const attrs = Buffer.concat(attributes);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0, 0);
  head.writeUInt16BE(attrs.length, 2);
  return bgpMessage(2, Buffer.concat([head, attrs, announced]));
}

export function routeMonitoring(peer: BmpPeer, timeMs: number, update: Buffer): Buffer {
  return bmp(BMP_ROUTE_MONITORING, Buffer.concat([perPeerHeader(peer, timeMs), update]));
}

/** End-of-RIB markers (RFC 4724): an empty UPDATE for IPv4, an empty MP_UNREACH for IPv6. */
export function endOfRib(): Buffer[] {
  const v4 = bgpMessage(2, Buffer.from([0, 0, 0, 0]));
  const unreach = attribute(0x80, 15, Buffer.from([0, 2, 1]));
  const head = Buffer.alloc(4);
  head.writeUInt16BE(unreach.length, 2);
  return [v4, bgpMessage(2, Buffer.concat([head, unreach]))];
}
