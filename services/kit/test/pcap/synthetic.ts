/** Builders of capture files and frames for the tests: the cases real captures lack, written byte by byte. */

export type Endian = 'le' | 'be';

function u16(value: number, endian: Endian = 'be'): Buffer {
  const b = Buffer.alloc(2);
  if (endian === 'le') b.writeUInt16LE(value);
  else b.writeUInt16BE(value);
  return b;
}

function u32(value: number, endian: Endian = 'be'): Buffer {
  const b = Buffer.alloc(4);
  if (endian === 'le') b.writeUInt32LE(value);
  else b.writeUInt32BE(value);
  return b;
}

function u64(value: bigint, endian: Endian): Buffer {
  const b = Buffer.alloc(8);
  if (endian === 'le') b.writeBigUInt64LE(value);
  else b.writeBigUInt64BE(value);
  return b;
}

function pad4(data: Buffer): Buffer {
  const padding = (4 - (data.length % 4)) % 4;
  return padding === 0 ? data : Buffer.concat([data, Buffer.alloc(padding)]);
}

export interface ClassicRecord {
  seconds: number;
  /** Microseconds or nanoseconds, as the file's magic says. */
  fraction: number;
  data: Buffer;
  originalLength?: number;
}

export function classicPcap(options: {
  endian: Endian;
  nanoseconds: boolean;
  linkType: number;
  records: ClassicRecord[];
}): Buffer {
  const { endian } = options;
  const header = Buffer.concat([
    u32(options.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, endian),
    u16(2, endian),
    u16(4, endian),
    u32(0, endian),
    u32(0, endian),
    u32(262144, endian),
    u32(options.linkType, endian),
  ]);
  const records = options.records.map((record) =>
    Buffer.concat([
      u32(record.seconds, endian),
      u32(record.fraction, endian),
      u32(record.data.length, endian),
      u32(record.originalLength ?? record.data.length, endian),
      record.data,
    ]),
  );
  return Buffer.concat([header, ...records]);
}

export function pcapngBlock(type: number, body: Buffer, endian: Endian): Buffer {
  const padded = pad4(body);
  const total = padded.length + 12;
  return Buffer.concat([u32(type, endian), u32(total, endian), padded, u32(total, endian)]);
}

export function option(code: number, value: Buffer, endian: Endian): Buffer {
  return Buffer.concat([u16(code, endian), u16(value.length, endian), pad4(value)]);
}

export function endOfOptions(endian: Endian): Buffer {
  return Buffer.concat([u16(0, endian), u16(0, endian)]);
}

export function sectionHeader(endian: Endian, options: Buffer[] = []): Buffer {
  const body = Buffer.concat([
    u32(0x1a2b3c4d, endian),
    u16(1, endian),
    u16(0, endian),
    u64(0xffffffffffffffffn, endian), // section length unknown
    ...options,
    ...(options.length > 0 ? [endOfOptions(endian)] : []),
  ]);
  return pcapngBlock(0x0a0d0d0a, body, endian);
}

export function interfaceDescription(
  endian: Endian,
  linkType: number,
  options: { tsresol?: number; tsoffset?: bigint; snapLength?: number; name?: string } = {},
): Buffer {
  const opts: Buffer[] = [];
  if (options.name !== undefined) opts.push(option(2, Buffer.from(options.name), endian));
  if (options.tsresol !== undefined) opts.push(option(9, Buffer.from([options.tsresol]), endian));
  if (options.tsoffset !== undefined) opts.push(option(14, u64(options.tsoffset, endian), endian));
  if (opts.length > 0) opts.push(endOfOptions(endian));
  const body = Buffer.concat([
    u16(linkType, endian),
    u16(0, endian),
    u32(options.snapLength ?? 0, endian),
    ...opts,
  ]);
  return pcapngBlock(1, body, endian);
}

export function enhancedPacket(
  endian: Endian,
  interfaceId: number,
  timestamp: bigint,
  data: Buffer,
  originalLength = data.length,
  capturedLengthOverride?: number,
): Buffer {
  const body = Buffer.concat([
    u32(interfaceId, endian),
    u32(Number(timestamp >> 32n), endian),
    u32(Number(timestamp & 0xffffffffn), endian),
    u32(capturedLengthOverride ?? data.length, endian),
    u32(originalLength, endian),
    pad4(data),
    // an epb_flags option, which the reader must step over
    option(2, u32(0x1, endian), endian),
    endOfOptions(endian),
  ]);
  return pcapngBlock(6, body, endian);
}

export function simplePacket(endian: Endian, data: Buffer, originalLength = data.length): Buffer {
  return pcapngBlock(3, Buffer.concat([u32(originalLength, endian), pad4(data)]), endian);
}

export function obsoletePacket(endian: Endian, interfaceId: number, timestamp: bigint, data: Buffer): Buffer {
  const body = Buffer.concat([
    u16(interfaceId, endian),
    u16(0, endian),
    u32(Number(timestamp >> 32n), endian),
    u32(Number(timestamp & 0xffffffffn), endian),
    u32(data.length, endian),
    u32(data.length, endian),
    pad4(data),
  ]);
  return pcapngBlock(2, body, endian);
}

// ---- frames ----

export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

export function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Buffer.concat(groups.map((group) => u16(group)));
}

export function udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  return Buffer.concat([u16(srcPort), u16(dstPort), u16(8 + payload.length), u16(0), payload]);
}

export function tcp(
  srcPort: number,
  dstPort: number,
  payload: Buffer,
  fields: { seq?: number; ack?: number; flags?: number; options?: Buffer } = {},
): Buffer {
  const options = pad4(fields.options ?? Buffer.alloc(0));
  const dataOffsetWords = (20 + options.length) / 4;
  return Buffer.concat([
    u16(srcPort),
    u16(dstPort),
    u32(fields.seq ?? 0),
    u32(fields.ack ?? 0),
    Buffer.from([dataOffsetWords << 4, fields.flags ?? 0x18]),
    u16(65535),
    u16(0),
    u16(0),
    options,
    payload,
  ]);
}

export function ipv4(
  src: string,
  dst: string,
  protocol: number,
  payload: Buffer,
  fields: {
    id?: number;
    moreFragments?: boolean;
    fragmentOffset?: number;
    ttl?: number;
    options?: Buffer;
  } = {},
): Buffer {
  const options = pad4(fields.options ?? Buffer.alloc(0));
  const headerLength = 20 + options.length;
  const flagsAndOffset = (fields.moreFragments ? 0x2000 : 0) | ((fields.fragmentOffset ?? 0) / 8);
  return Buffer.concat([
    Buffer.from([0x40 | (headerLength / 4), 0]),
    u16(headerLength + payload.length),
    u16(fields.id ?? 0),
    u16(flagsAndOffset),
    Buffer.from([fields.ttl ?? 64, protocol]),
    u16(0),
    ipv4Bytes(src),
    ipv4Bytes(dst),
    options,
    payload,
  ]);
}

/** IPv6 with extension headers given as [type, body] (body without the next-header and length bytes). */
export function ipv6(
  src: string,
  dst: string,
  protocol: number,
  payload: Buffer,
  extensions: Array<{ type: number; body: Buffer }> = [],
  hopLimit = 64,
): Buffer {
  const chain: Buffer[] = [];
  for (let i = 0; i < extensions.length; i++) {
    const extension = extensions[i]!;
    const next = extensions[i + 1]?.type ?? protocol;
    if (extension.type === 44) {
      // fragment header: fixed 8 bytes, body is the 6 bytes after next header and reserved
      chain.push(Buffer.concat([Buffer.from([next, 0]), extension.body]));
    } else {
      const length = extension.body.length + 2;
      if (length % 8 !== 0) throw new Error('extension header must be a multiple of 8 bytes');
      chain.push(Buffer.concat([Buffer.from([next, length / 8 - 1]), extension.body]));
    }
  }
  const body = Buffer.concat([...chain, payload]);
  return Buffer.concat([
    u32(0x60000000),
    u16(body.length),
    Buffer.from([extensions[0]?.type ?? protocol, hopLimit]),
    ipv6Bytes(src),
    ipv6Bytes(dst),
    body,
  ]);
}

export function ipv6FragmentHeader(
  id: number,
  offset: number,
  more: boolean,
): { type: number; body: Buffer } {
  return { type: 44, body: Buffer.concat([u16(offset | (more ? 1 : 0)), u32(id)]) };
}

export function ethernet(
  etherType: number,
  payload: Buffer,
  vlanTags: Array<{ tpid: number; id: number }> = [],
) {
  const mac = Buffer.from([0x02, 0, 0, 0, 0, 1]);
  const tags = vlanTags.map((tag) => Buffer.concat([u16(tag.tpid), u16(tag.id)]));
  const frame = Buffer.concat([mac, mac, ...tags, u16(etherType), payload]);
  // Ethernet pads frames to 60 bytes: the decoder must stop at the IP length.
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length, 0xee)]) : frame;
}

export function sll(protocol: number, payload: Buffer): Buffer {
  return Buffer.concat([
    u16(0),
    u16(1),
    u16(6),
    Buffer.from([2, 0, 0, 0, 0, 1, 0, 0]),
    u16(protocol),
    payload,
  ]);
}

export function sll2(protocol: number, payload: Buffer): Buffer {
  return Buffer.concat([
    u16(protocol),
    u16(0),
    u32(3),
    u16(1),
    Buffer.from([0, 6]),
    Buffer.from([2, 0, 0, 0, 0, 1, 0, 0]),
    payload,
  ]);
}

export function nullLoopback(family: number, endian: Endian, payload: Buffer): Buffer {
  return Buffer.concat([u32(family, endian), payload]);
}
