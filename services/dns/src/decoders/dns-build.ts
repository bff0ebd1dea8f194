/**
 * Writing DNS messages (queries and their responses) in wire format, for the simulator, the benchmark's
 * sender and the tests: what a stub resolver sends and what a resolver answers, with EDNS and name
 * compression in the answers, as real servers do.
 */

export interface QuerySpec {
  id: number;
  /** Absolute or relative name in presentation format; "." is the root. Escapes are not interpreted. */
  name: string;
  type: number;
  class?: number;
  recursionDesired?: boolean;
  /** With an OPT record: its UDP size, and the DO bit. */
  edns?: { udpSize?: number; dnssecOk?: boolean };
}

export interface ResponseSpec {
  /** 12-bit response code; the upper 8 bits go to the OPT record (which is added when needed). */
  rcode?: number;
  /** A records (for type A) or AAAA, or TXT otherwise, pointing at the question's name. */
  answers?: number;
  truncated?: boolean;
  authoritative?: boolean;
}

function nameBytes(name: string): Buffer {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`bad label in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id & 0xffff, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

function opt(udpSize: number, extendedRcode: number, dnssecOk: boolean): Buffer {
  const rr = Buffer.alloc(11);
  rr[0] = 0; // root name
  rr.writeUInt16BE(41, 1);
  rr.writeUInt16BE(udpSize, 3);
  rr[5] = extendedRcode;
  rr[6] = 0; // version
  rr.writeUInt16BE(dnssecOk ? 0x8000 : 0, 7);
  rr.writeUInt16BE(0, 9);
  return rr;
}

function question(spec: QuerySpec): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(spec.type, 0);
  tail.writeUInt16BE(spec.class ?? 1, 2);
  return Buffer.concat([nameBytes(spec.name), tail]);
}

/** A query as a stub resolver sends it. */
export function buildDnsQuery(spec: QuerySpec): Buffer {
  const flags = spec.recursionDesired === false ? 0 : 0x0100;
  const parts = [header(spec.id, flags, 1, 0, 0, spec.edns ? 1 : 0), question(spec)];
  if (spec.edns) parts.push(opt(spec.edns.udpSize ?? 1232, 0, spec.edns.dnssecOk ?? false));
  return Buffer.concat(parts);
}

/** The response to `spec`: same id and question, the answers compressed against the question's name. */
export function buildDnsResponse(spec: QuerySpec, response: ResponseSpec = {}): Buffer {
  const rcode = response.rcode ?? 0;
  const answers = response.answers ?? 0;
  const needsOpt = spec.edns !== undefined || rcode > 15;
  let flags = 0x8000 | 0x0080 | (rcode & 0x0f);
  if (spec.recursionDesired !== false) flags |= 0x0100;
  if (response.truncated) flags |= 0x0200;
  if (response.authoritative) flags |= 0x0400;
  const parts = [header(spec.id, flags, 1, answers, 0, needsOpt ? 1 : 0), question(spec)];
  for (let i = 0; i < answers; i++) {
    const type = spec.type === 28 ? 28 : spec.type === 1 ? 1 : 16;
    const rdata =
      type === 1
        ? Buffer.from([192, 0, 2, (i + 1) & 0xff])
        : type === 28
          ? Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i + 1) & 0xff])
          : Buffer.from([3, 0x6b, 0x61, 0x6e]); // TXT "kan"
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name at offset 12
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(spec.class ?? 1, 4);
    rr.writeUInt32BE(300, 6);
    rr.writeUInt16BE(rdata.length, 10);
    parts.push(rr, rdata);
  }
  if (needsOpt) parts.push(opt(spec.edns?.udpSize ?? 1232, rcode >> 4, spec.edns?.dnssecOk ?? false));
  return Buffer.concat(parts);
}
