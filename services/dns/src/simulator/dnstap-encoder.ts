/**
 * Writes what a resolver's dnstap sends: DNS wire messages (query, and a response with its answers) wrapped in
 * dnstap CLIENT_QUERY / CLIENT_RESPONSE protobuf messages. Written by hand from the public schemas (RFC 1035
 * §4.1, dnstap.proto): the simulator and the benchmark encode hundreds of thousands of messages a second.
 *
 *   Dnstap  { 1 identity bytes, 2 version bytes, 14 message Message, 15 type enum (1 MESSAGE) }
 *   Message { 1 type, 2 socket_family, 3 socket_protocol, 4 query_address, 5 response_address, 6 query_port,
 *             7 response_port, 8 query_time_sec, 9 query_time_nsec fixed32, 10 query_message,
 *             12 response_time_sec, 13 response_time_nsec fixed32, 14 response_message }
 */

export const CLIENT_QUERY = 5;
export const CLIENT_RESPONSE = 6;

export interface SimulatedQuery {
  /** Query time, ms since the epoch (fractions allowed). */
  timeMs: number;
  /** Response time in µs after the query; undefined: no response. */
  responseUs?: number;
  client: Uint8Array;
  clientPort: number;
  server: Uint8Array;
  serverPort: number;
  /** 1 UDP, 2 TCP. */
  protocol: number;
  id: number;
  qname: string;
  qtype: number;
  rcode: number;
  /** Answer records in the response (A/AAAA get addresses; other types an empty-ish record). */
  answers: number;
}

/** Wire form of a name ("www.example.jp." → 3www7example2jp0). */
export function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Math.min(63, bytes.length), ...bytes.subarray(0, 63));
  }
  parts.push(0);
  return Buffer.from(parts);
}

/** A query message: header (RD set), one question, an EDNS OPT record (4096-byte UDP size). */
export function buildQuery(q: Pick<SimulatedQuery, 'id' | 'qname' | 'qtype'>): Buffer {
  const name = encodeName(q.qname);
  const out = Buffer.alloc(12 + name.length + 4 + 11);
  out.writeUInt16BE(q.id & 0xffff, 0);
  out.writeUInt16BE(0x0100, 2); // RD
  out.writeUInt16BE(1, 4); // QDCOUNT
  out.writeUInt16BE(1, 10); // ARCOUNT (OPT)
  name.copy(out, 12);
  let o = 12 + name.length;
  out.writeUInt16BE(q.qtype, o);
  out.writeUInt16BE(1, o + 2);
  o += 4;
  // OPT: root name, type 41, class = UDP payload size, TTL = ext-rcode/version/flags, RDLEN 0.
  out[o] = 0;
  out.writeUInt16BE(41, o + 1);
  out.writeUInt16BE(4096, o + 3);
  out.writeUInt32BE(0, o + 5);
  out.writeUInt16BE(0, o + 9);
  return out;
}

/** The response: QR, RD, RA, the rcode, the question and `answers` records pointing at the question name. */
export function buildResponse(
  q: Pick<SimulatedQuery, 'id' | 'qname' | 'qtype' | 'rcode' | 'answers'>,
): Buffer {
  const name = encodeName(q.qname);
  const answers = q.rcode === 0 ? q.answers : 0;
  const rdlen = q.qtype === 28 ? 16 : 4;
  const out = Buffer.alloc(12 + name.length + 4 + answers * (12 + rdlen) + 11);
  out.writeUInt16BE(q.id & 0xffff, 0);
  out.writeUInt16BE(0x8180 | (q.rcode & 0xf), 2); // QR, RD, RA, rcode
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answers, 6);
  out.writeUInt16BE(1, 10);
  name.copy(out, 12);
  let o = 12 + name.length;
  out.writeUInt16BE(q.qtype, o);
  out.writeUInt16BE(1, o + 2);
  o += 4;
  for (let i = 0; i < answers; i++) {
    out.writeUInt16BE(0xc00c, o); // pointer to the question name
    out.writeUInt16BE(q.qtype === 28 ? 28 : 1, o + 2);
    out.writeUInt16BE(1, o + 4);
    out.writeUInt32BE(300, o + 6);
    out.writeUInt16BE(rdlen, o + 10);
    o += 12;
    if (rdlen === 16) {
      out.writeUInt32BE(0x20010db8, o);
      out.writeUInt32BE(i + 1, o + 12);
    } else {
      out.writeUInt32BE(0xc0000200 + ((i + 1) & 0xff), o); // 192.0.2.x
    }
    o += rdlen;
  }
  out[o] = 0;
  out.writeUInt16BE(41, o + 1);
  out.writeUInt16BE(4096, o + 3);
  out.writeUInt32BE(0, o + 5);
  out.writeUInt16BE(0, o + 9);
  return out;
}

/** Protobuf writer over a growing byte array. */
class Writer {
  private buf = Buffer.alloc(512);
  length = 0;

  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  varint(value: number) {
    this.room(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }
  tag(field: number, wire: number) {
    this.varint(field * 8 + wire);
  }
  bytes(field: number, data: Uint8Array) {
    this.tag(field, 2);
    this.varint(data.length);
    this.room(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }
  uint(field: number, value: number) {
    this.tag(field, 0);
    this.varint(value);
  }
  fixed32(field: number, value: number) {
    this.tag(field, 5);
    this.room(4);
    this.buf.writeUInt32LE(value >>> 0, this.length);
    this.length += 4;
  }
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

function splitTime(ms: number): { sec: number; nsec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)) };
}

/** One dnstap frame payload (a serialized Dnstap). */
export function encodeDnstapMessage(
  q: SimulatedQuery,
  type: typeof CLIENT_QUERY | typeof CLIENT_RESPONSE,
  identity: Uint8Array,
  wire: Uint8Array,
): Buffer {
  const m = new Writer();
  m.uint(1, type);
  m.uint(2, q.client.length === 16 ? 2 : 1);
  m.uint(3, q.protocol);
  m.bytes(4, q.client);
  m.bytes(5, q.server);
  m.uint(6, q.clientPort);
  m.uint(7, q.serverPort);
  const qt = splitTime(q.timeMs);
  m.uint(8, qt.sec);
  m.fixed32(9, qt.nsec);
  if (type === CLIENT_QUERY) {
    m.bytes(10, wire);
  } else {
    const rt = splitTime(q.timeMs + (q.responseUs ?? 0) / 1000);
    m.uint(12, rt.sec);
    m.fixed32(13, rt.nsec);
    m.bytes(14, wire);
  }
  const message = m.take();
  const d = new Writer();
  if (identity.length > 0) d.bytes(1, identity);
  d.bytes(2, VERSION);
  d.bytes(14, message);
  d.uint(15, 1);
  return d.take();
}

const VERSION = Buffer.from('kansoku-simulator');

/** The frames of one query: CLIENT_QUERY, and CLIENT_RESPONSE when it was answered. */
export function encodeQueryFrames(q: SimulatedQuery, identity: Uint8Array): Buffer[] {
  const frames = [encodeDnstapMessage(q, CLIENT_QUERY, identity, buildQuery(q))];
  if (q.responseUs !== undefined)
    frames.push(encodeDnstapMessage(q, CLIENT_RESPONSE, identity, buildResponse(q)));
  return frames;
}
