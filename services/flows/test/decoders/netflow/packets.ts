/**
 * Builders of NetFlow v5/v9 and IPFIX export packets for unit tests, written from RFC 3954 and RFC 7011:
 * every length and count is computed, so a test states only what it is about.
 */

/** [element id, length, enterprise number]; an enterprise number sets the IPFIX enterprise bit. */
export type FieldSpec = readonly [id: number, length: number, enterprise?: number];

/** One value of a data record: a number or bigint written big-endian in `length` octets, or raw octets. */
export type Value = readonly [value: number | bigint, length: number] | Uint8Array;

export function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength)));
}

function uint(value: number | bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  let rest = BigInt(value);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

export function u16(value: number): Buffer {
  return uint(value, 2);
}

export function u32(value: number): Buffer {
  return uint(value, 4);
}

/** A data record: its values end to end. */
export function record(...values: readonly Value[]): Buffer {
  return concat(values.map((v) => (v instanceof Uint8Array ? v : uint(v[0], v[1]))));
}

/** An IPFIX variable-length value with its length prefix: one octet below 255, else 255 and two octets. */
export function variable(bytes: Uint8Array, forceLong = false): Buffer {
  if (bytes.length < 255 && !forceLong) return concat([Buffer.from([bytes.length]), bytes]);
  return concat([Buffer.from([255]), u16(bytes.length), bytes]);
}

/** A set (IPFIX) or flowset (v9): id, length, body, then zero padding to `padTo` octets. */
export function set(id: number, body: Uint8Array, padTo = 1): Buffer {
  const unpadded = 4 + body.length;
  const padding = (padTo - (unpadded % padTo)) % padTo;
  return concat([u16(id), u16(unpadded + padding), body, Buffer.alloc(padding)]);
}

function fieldSpecs(fields: readonly FieldSpec[]): Buffer {
  return concat(
    fields.map(([id, length, enterprise]) =>
      enterprise === undefined
        ? concat([u16(id), u16(length)])
        : concat([u16(id | 0x8000), u16(length), u32(enterprise)]),
    ),
  );
}

/** A template record (v9 and IPFIX share the layout): id, field count, field specifiers. */
export function template(id: number, fields: readonly FieldSpec[]): Buffer {
  return concat([u16(id), u16(fields.length), fieldSpecs(fields)]);
}

/** An IPFIX template withdrawal: the template id with a field count of 0. */
export function withdrawal(id: number): Buffer {
  return concat([u16(id), u16(0)]);
}

/** An IPFIX options template record: id, field count, scope field count, specifiers (scope first). */
export function ipfixOptionsTemplate(
  id: number,
  scope: readonly FieldSpec[],
  options: readonly FieldSpec[],
): Buffer {
  return concat([
    u16(id),
    u16(scope.length + options.length),
    u16(scope.length),
    fieldSpecs([...scope, ...options]),
  ]);
}

/** A NetFlow v9 options template record: id, scope length, option length (octets), scope then option fields. */
export function v9OptionsTemplate(
  id: number,
  scope: readonly FieldSpec[],
  options: readonly FieldSpec[],
): Buffer {
  return concat([
    u16(id),
    u16(scope.length * 4),
    u16(options.length * 4),
    fieldSpecs([...scope, ...options]),
  ]);
}

export interface IpfixHeader {
  exportTime?: number;
  sequence?: number;
  domainId?: number;
}

export function ipfix(header: IpfixHeader, sets: readonly Uint8Array[]): Buffer {
  const body = concat(sets);
  return concat([
    u16(10),
    u16(16 + body.length),
    u32(header.exportTime ?? 1_700_000_000),
    u32(header.sequence ?? 0),
    u32(header.domainId ?? 0),
    body,
  ]);
}

export interface V9Header {
  count?: number;
  sysUptimeMs?: number;
  unixSecs?: number;
  sequence?: number;
  sourceId?: number;
}

export function v9(header: V9Header, flowsets: readonly Uint8Array[]): Buffer {
  return concat([
    u16(9),
    u16(header.count ?? flowsets.length),
    u32(header.sysUptimeMs ?? 100_000),
    u32(header.unixSecs ?? 1_700_000_000),
    u32(header.sequence ?? 0),
    u32(header.sourceId ?? 0),
    ...flowsets,
  ]);
}

export interface V5Header {
  sysUptimeMs?: number;
  unixSecs?: number;
  unixNsecs?: number;
  sequence?: number;
  engineType?: number;
  engineId?: number;
  samplingInterval?: number;
}

export interface V5Record {
  src: readonly number[];
  dst: readonly number[];
  nextHop?: readonly number[];
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
  srcPort: number;
  dstPort: number;
  tcpFlags?: number;
  protocol: number;
  srcAs?: number;
  dstAs?: number;
  srcMask?: number;
  dstMask?: number;
}

export function v5(header: V5Header, records: readonly V5Record[]): Buffer {
  const head = concat([
    u16(5),
    u16(records.length),
    u32(header.sysUptimeMs ?? 100_000),
    u32(header.unixSecs ?? 1_700_000_000),
    u32(header.unixNsecs ?? 0),
    u32(header.sequence ?? 0),
    Buffer.from([header.engineType ?? 0, header.engineId ?? 0]),
    u16(header.samplingInterval ?? 0),
  ]);
  const body = records.map((r) =>
    concat([
      Buffer.from(r.src),
      Buffer.from(r.dst),
      Buffer.from(r.nextHop ?? [0, 0, 0, 0]),
      u16(r.input ?? 0),
      u16(r.output ?? 0),
      u32(r.packets),
      u32(r.bytes),
      u32(r.firstMs),
      u32(r.lastMs),
      u16(r.srcPort),
      u16(r.dstPort),
      Buffer.from([0, r.tcpFlags ?? 0, r.protocol, 0]),
      u16(r.srcAs ?? 0),
      u16(r.dstAs ?? 0),
      Buffer.from([r.srcMask ?? 0, r.dstMask ?? 0, 0, 0]),
    ]),
  );
  return concat([head, ...body]);
}

export function ipv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}
