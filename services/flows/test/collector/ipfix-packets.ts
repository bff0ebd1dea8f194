/**
 * IPFIX messages (RFC 7011) built by hand for the collector's tests: one template, data records with known
 * addresses, ports and counters, so what the collector publishes can be checked field by field.
 */

export const TEMPLATE_ID = 256;

/** sourceIPv4Address, destinationIPv4Address, sourceTransportPort, destinationTransportPort, protocol, octets, packets. */
const FIELDS: [id: number, length: number][] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 8],
  [2, 8],
];
const RECORD_LENGTH = FIELDS.reduce((sum, [, length]) => sum + length, 0);

export interface TestFlow {
  src: [number, number, number, number];
  dst: [number, number, number, number];
  srcPort: number;
  dstPort: number;
  protocol: number;
  bytes: number;
  packets: number;
}

/** Flow `i` of a test stream: distinct ports, known counters. */
export function testFlow(i: number): TestFlow {
  return {
    src: [192, 0, 2, 1 + (i % 200)],
    dst: [198, 51, 100, 1 + (i % 100)],
    srcPort: 10_000 + i,
    dstPort: i % 2 === 0 ? 443 : 53,
    protocol: i % 2 === 0 ? 6 : 17,
    bytes: 100 + i,
    packets: 1 + (i % 7),
  };
}

function message(domain: number, sequence: number, sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  const header = Buffer.alloc(16);
  header.writeUInt16BE(10, 0);
  header.writeUInt16BE(16 + body.length, 2);
  header.writeUInt32BE(1_767_225_600, 4); // 2026-01-01T00:00:00Z
  header.writeUInt32BE(sequence >>> 0, 8);
  header.writeUInt32BE(domain, 12);
  return Buffer.concat([header, body]);
}

function set(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([header, body]);
}

export function templateSet(): Buffer {
  const body = Buffer.alloc(4 + FIELDS.length * 4);
  body.writeUInt16BE(TEMPLATE_ID, 0);
  body.writeUInt16BE(FIELDS.length, 2);
  FIELDS.forEach(([id, length], index) => {
    body.writeUInt16BE(id, 4 + index * 4);
    body.writeUInt16BE(length, 6 + index * 4);
  });
  return set(2, body);
}

export function dataSet(flows: TestFlow[]): Buffer {
  const body = Buffer.alloc(flows.length * RECORD_LENGTH);
  flows.forEach((flow, index) => {
    let at = index * RECORD_LENGTH;
    body.set(flow.src, at);
    body.set(flow.dst, at + 4);
    body.writeUInt16BE(flow.srcPort, at + 8);
    body.writeUInt16BE(flow.dstPort, at + 10);
    body.writeUInt8(flow.protocol, at + 12);
    body.writeBigUInt64BE(BigInt(flow.bytes), at + 13);
    body.writeBigUInt64BE(BigInt(flow.packets), at + 21);
    at += RECORD_LENGTH;
  });
  return set(TEMPLATE_ID, body);
}

/** A message with the template only. */
export function templateMessage(domain: number, sequence: number): Buffer {
  return message(domain, sequence, [templateSet()]);
}

/** A message with data records only (decodable only once the template is known). */
export function dataMessage(domain: number, sequence: number, flows: TestFlow[]): Buffer {
  return message(domain, sequence, [dataSet(flows)]);
}

/** A message with the template, then data records. */
export function templateAndDataMessage(domain: number, sequence: number, flows: TestFlow[]): Buffer {
  return message(domain, sequence, [templateSet(), dataSet(flows)]);
}

/** `count` messages of `perMessage` flows each: the first carries the template, the rest data only. */
export function ipfixStream(count: number, perMessage: number, domain = 1): Buffer[] {
  const messages: Buffer[] = [];
  let sequence = 0;
  for (let m = 0; m < count; m++) {
    const flows = Array.from({ length: perMessage }, (_, k) => testFlow(m * perMessage + k));
    messages.push(
      m === 0 ? templateAndDataMessage(domain, sequence, flows) : dataMessage(domain, sequence, flows),
    );
    sequence += perMessage;
  }
  return messages;
}
