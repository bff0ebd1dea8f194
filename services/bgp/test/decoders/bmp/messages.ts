/** Hand-built BMP and BGP messages for the parser tests (RFC 7854 §4, RFC 4271 §4). */

export function bgpMessage(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(19, 0xff);
  header.writeUInt16BE(19 + body.length, 16);
  header[18] = type;
  return Buffer.concat([header, body]);
}

export function open(
  asn: number,
  options: { as4?: boolean; addPath?: [number, number, number][] } = {},
): Buffer {
  const capabilities: Buffer[] = [];
  if (options.as4 ?? true) {
    const value = Buffer.alloc(4);
    value.writeUInt32BE(asn);
    capabilities.push(Buffer.from([65, 4]), value);
  }
  if (options.addPath !== undefined) {
    const value = Buffer.alloc(options.addPath.length * 4);
    options.addPath.forEach(([afi, safi, sendReceive], i) => {
      value.writeUInt16BE(afi, i * 4);
      value[i * 4 + 2] = safi;
      value[i * 4 + 3] = sendReceive;
    });
    capabilities.push(Buffer.from([69, value.length]), value);
  }
  const caps = Buffer.concat(capabilities);
  const fixed = Buffer.alloc(10);
  fixed[0] = 4;
  fixed.writeUInt16BE(asn > 0xffff ? 23456 : asn, 1);
  fixed.writeUInt16BE(90, 3);
  fixed.writeUInt32BE(0x0a000001, 5);
  fixed[9] = caps.length + 2;
  return bgpMessage(1, Buffer.concat([fixed, Buffer.from([2, caps.length]), caps]));
}

/** An UPDATE announcing 10.<n>.0.0/16 (with path id when given), AS_PATH of `path`, next hop 192.0.2.1. */
export function update(path: number[], options: { as4?: boolean; pathId?: number; n?: number } = {}): Buffer {
  const as4 = options.as4 ?? true;
  const asns = Buffer.alloc(path.length * (as4 ? 4 : 2));
  for (const [i, asn] of path.entries()) {
    if (as4) asns.writeUInt32BE(asn, i * 4);
    else asns.writeUInt16BE(asn, i * 2);
  }
  const asPath = Buffer.concat([Buffer.from([0x40, 2, 2 + asns.length, 2, path.length]), asns]);
  const attributes = Buffer.concat([
    Buffer.from([0x40, 1, 1, 0]),
    asPath,
    Buffer.from([0x40, 3, 4, 192, 0, 2, 1]),
  ]);
  const pathId = Buffer.alloc(options.pathId === undefined ? 0 : 4);
  if (options.pathId !== undefined) pathId.writeUInt32BE(options.pathId);
  const nlri = Buffer.concat([pathId, Buffer.from([16, 10, options.n ?? 0])]);
  const lengths = Buffer.alloc(4);
  lengths.writeUInt16BE(attributes.length, 2);
  return bgpMessage(2, Buffer.concat([lengths, attributes, nlri]));
}

export interface PeerHeaderFields {
  peerType?: number;
  flags?: number;
  distinguisher?: bigint;
  /** IPv4 address as four numbers. */
  address?: [number, number, number, number];
  asn?: number;
  seconds?: number;
}

export function peerHeader(fields: PeerHeaderFields = {}): Buffer {
  const header = Buffer.alloc(42);
  header[0] = fields.peerType ?? 0;
  header[1] = fields.flags ?? 0;
  header.writeBigUInt64BE(fields.distinguisher ?? 0n, 2);
  Buffer.from(fields.address ?? [192, 0, 2, 9]).copy(header, 22);
  header.writeUInt32BE(fields.asn ?? 65001, 26);
  header.writeUInt32BE(0xc0000209, 30);
  header.writeUInt32BE(fields.seconds ?? 1_700_000_000, 34);
  header.writeUInt32BE(5, 38);
  return header;
}

export function bmp(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = 3;
  header.writeUInt32BE(6 + body.length, 1);
  header[5] = type;
  return Buffer.concat([header, body]);
}

export function peerUp(peer: PeerHeaderFields, sent: Buffer, received: Buffer): Buffer {
  const local = Buffer.alloc(20);
  Buffer.from([192, 0, 2, 254]).copy(local, 12);
  local.writeUInt16BE(179, 16);
  local.writeUInt16BE(40000, 18);
  return bmp(3, Buffer.concat([peerHeader(peer), local, sent, received]));
}

export function routeMonitoring(peer: PeerHeaderFields, pdu: Buffer): Buffer {
  return bmp(0, Buffer.concat([peerHeader(peer), pdu]));
}

export function tlv(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}
