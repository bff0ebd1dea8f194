/**
 * The processor's hot path: FlowRecordBatch bytes straight into the raw table's RowBinary rows and the
 * 1-minute rollup cells, without a FlowRecord object, a bigint or a string key per record. Reading each record
 * into an object first (31 fields, seven of them bigints), then keying its cell with a 10-part string, cost
 * about four times the CPU of this (docs/benchmarks.md).
 *
 * Each record's fields are read into one reused scratch; uint64s as two 32-bit halves (RowBinary takes them as
 * they are, sums are kept in halves, times are divided exactly). A record the fast reader does not expect (an
 * unknown field, a wrong wire type, non-ASCII application name) is read with `decodeFlowRecord` and goes through
 * the same writer: the output does not depend on which reader took it.
 */
import { decodeFlowRecord, decodeFlowRecordBatch } from '@kansoku/contracts/flow-record-codec';
import { type FlowRecord, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { RowBinaryWriter } from '@kansoku/kit';

/** A rollup cell: sums of bytes, packets and flows for one key of the rollup tables. */
export interface RollupCell {
  time: number;
  exporter: string;
  in_interface: number;
  out_interface: number;
  ip_version: number;
  protocol: number;
  src_port: number;
  application: string;
  src_as: number;
  dst_as: number;
  bytes: bigint;
  packets: bigint;
  flows: number;
}

/** Source ports folded as the rollups keep them (see processor.ts). */
export type SourcePortFold = (port: number) => number;

const EMPTY = new Uint8Array(0);
const TWO_POW_32 = 4_294_967_296;

/** A byte field where it lies: no view is made per record. */
class Span {
  buf: Uint8Array = EMPTY;
  at = 0;
  len = 0;

  set(buf: Uint8Array, at: number, len: number): void {
    this.buf = buf;
    this.at = at;
    this.len = len;
  }

  equals(bytes: Uint8Array): boolean {
    if (bytes.length !== this.len) return false;
    for (let i = 0; i < this.len; i++) if (bytes[i] !== this.buf[this.at + i]) return false;
    return true;
  }

  copy(): Uint8Array {
    return this.buf.slice(this.at, this.at + this.len);
  }
}

/** An application name and its UTF-8 bytes (names come from a small table). */
interface Application {
  bytes: Uint8Array;
  name: string;
}

const NO_APPLICATION: Application = { bytes: EMPTY, name: '' };

/** One record's fields, as the wire gives them (uint64 in halves, byte fields where they lie). */
class Fields {
  receivedLo = 0;
  receivedHi = 0;
  startLo = 0;
  startHi = 0;
  endLo = 0;
  endHi = 0;
  readonly exporter = new Span();
  observationDomainId = 0;
  flowProtocol = 0;
  inInterface = 0;
  outInterface = 0;
  direction = 0;
  ipVersion = 0;
  readonly src = new Span();
  readonly dst = new Span();
  srcPrefixLength = 0;
  dstPrefixLength = 0;
  srcPort = 0;
  dstPort = 0;
  protocol = 0;
  tcpFlags = 0;
  bytesLo = 0;
  bytesHi = 0;
  packetsLo = 0;
  packetsHi = 0;
  samplingRate = 0;
  rawBytesLo = 0;
  rawBytesHi = 0;
  rawPacketsLo = 0;
  rawPacketsHi = 0;
  srcAs = 0;
  dstAs = 0;
  readonly nextHop = new Span();
  srcVlanId = 0;
  dstVlanId = 0;
  application: Application = NO_APPLICATION;

  reset(): void {
    this.receivedLo = this.receivedHi = this.startLo = this.startHi = this.endLo = this.endHi = 0;
    this.exporter.len = this.src.len = this.dst.len = this.nextHop.len = 0;
    this.observationDomainId = this.flowProtocol = this.inInterface = this.outInterface = 0;
    this.direction = this.ipVersion = this.srcPrefixLength = this.dstPrefixLength = 0;
    this.srcPort = this.dstPort = this.protocol = this.tcpFlags = 0;
    this.bytesLo = this.bytesHi = this.packetsLo = this.packetsHi = this.samplingRate = 0;
    this.rawBytesLo = this.rawBytesHi = this.rawPacketsLo = this.rawPacketsHi = 0;
    this.srcAs = this.dstAs = this.srcVlanId = this.dstVlanId = 0;
    this.application = NO_APPLICATION;
  }
}

/** A minute cell while the batch is read: sums in 32-bit halves, exact for any batch size. */
interface MinuteCell {
  hash: number;
  time: number;
  exporter: string;
  inInterface: number;
  outInterface: number;
  ipVersion: number;
  protocol: number;
  srcPort: number;
  application: string;
  srcAs: number;
  dstAs: number;
  bytesLo: number;
  bytesHi: number;
  packetsLo: number;
  packetsHi: number;
  flows: number;
  /** The next cell with the same hash. */
  next: MinuteCell | undefined;
}

class NotFast extends Error {}
const notFast = new NotFast();

/** Milliseconds of a nanosecond uint64 given in halves, exactly (hi·2^32 = hi·4294·10^6 + hi·967296). */
function nsToMs(lo: number, hi: number): number {
  const rest = hi * 967_296 + lo; // < 2^53
  return hi * 4294 + (rest - (rest % 1_000_000)) / 1_000_000;
}

function ipVersionNumber(version: number): 4 | 6 | 0 {
  return version === IpVersion.V4 ? 4 : version === IpVersion.V6 ? 6 : 0;
}

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193) >>> 0;
}

export class FlowBatchAggregator {
  private readonly raw: RowBinaryWriter;
  private readonly cells = new Map<number, MinuteCell>();
  private cellCount = 0;
  private readonly f = new Fields();
  private records = 0;
  private skippedRecords = 0;
  // Text of the last exporter and of application names seen, by their bytes.
  private exporterBytes: Uint8Array = EMPTY;
  private exporterText = '';
  private exporterTextBytes: Uint8Array = EMPTY;
  private readonly applications = new Map<number, Application[]>();
  private readonly applicationsByName = new Map<string, Application>();
  // The record being read.
  private input: Uint8Array = EMPTY;
  private at = 0;
  private end = 0;

  constructor(
    private readonly foldSourcePort: SourcePortFold,
    expectedRecords = 1024,
  ) {
    this.raw = new RowBinaryWriter(expectedRecords * 128);
  }

  /** Records added so far. */
  get size(): number {
    return this.records;
  }

  /**
   * Adds the records of one FlowRecordBatch. Bytes that are not a batch throw before anything is added; a
   * record whose own bytes are invalid inside a well-framed batch is skipped and counted (`skipped`).
   */
  addBatch(bytes: Uint8Array): void {
    const starts: number[] = [];
    const ends: number[] = [];
    let p = 0;
    while (p < bytes.length) {
      // Anything but field 1 with a sane length: the general decoder reads it, or throws.
      if (bytes[p] !== 0x0a) {
        this.addRecords(decodeFlowRecordBatch(bytes));
        return;
      }
      p++;
      let size = 0;
      let shift = 0;
      for (;;) {
        if (p >= bytes.length || shift > 28) {
          this.addRecords(decodeFlowRecordBatch(bytes));
          return;
        }
        const b = bytes[p++]!;
        size += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      if (p + size > bytes.length) {
        this.addRecords(decodeFlowRecordBatch(bytes));
        return;
      }
      starts.push(p);
      ends.push(p + size);
      p += size;
    }
    for (let i = 0; i < starts.length; i++) {
      const record = bytes.subarray(starts[i]!, ends[i]!);
      if (!this.readFast(record)) {
        let decoded: FlowRecord;
        try {
          decoded = decodeFlowRecord(record);
        } catch {
          this.skippedRecords++;
          continue;
        }
        this.readRecord(decoded);
      }
      this.emit();
    }
  }

  /** Records of well-framed batches whose own bytes were invalid: skipped. */
  get skipped(): number {
    return this.skippedRecords;
  }

  /** Adds records given as objects (tests, fixtures, and messages the fast framing refused). */
  addRecords(records: readonly FlowRecord[]): void {
    for (const record of records) {
      this.readRecord(record);
      this.emit();
    }
  }

  /** The raw table's rows, RowBinary in RAW_FLOW_COLUMNS order, as a view valid until the next add. */
  rawRows(): { data: Buffer; rows: number } {
    return { data: this.raw.bytes(), rows: this.raw.rows };
  }

  /** The minute cells, sorted by the rollup tables' key. */
  minuteCells(compare: (a: RollupCell, b: RollupCell) => number): RollupCell[] {
    const out: RollupCell[] = [];
    for (const first of this.cells.values()) {
      for (let c: MinuteCell | undefined = first; c; c = c.next) {
        out.push({
          time: c.time,
          exporter: c.exporter,
          in_interface: c.inInterface,
          out_interface: c.outInterface,
          ip_version: c.ipVersion,
          protocol: c.protocol,
          src_port: c.srcPort,
          application: c.application,
          src_as: c.srcAs,
          dst_as: c.dstAs,
          bytes: (BigInt(c.bytesHi) << 32n) + BigInt(c.bytesLo),
          packets: (BigInt(c.packetsHi) << 32n) + BigInt(c.packetsLo),
          flows: c.flows,
        });
      }
    }
    return out.sort(compare);
  }

  /** Minute cells held: the batch's distinct rollup keys. */
  get cellsHeld(): number {
    return this.cellCount;
  }

  // ---- reading -------------------------------------------------------------------------------------------

  private varint32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw notFast;
      const b = this.input[this.at++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift === 28) result |= (b & 0x0f) << 28;
      if (b < 0x80) return result >>> 0;
      shift += 7;
      if (shift >= 70) throw notFast;
    }
  }

  /** A uint64 varint as its low and high 32 bits, into `out`. */
  private varint64(out: [number, number]): void {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw notFast;
      const b = this.input[this.at++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else if (shift < 64) hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift >= 70) throw notFast;
    }
    out[0] = lo >>> 0;
    out[1] = hi >>> 0;
  }

  private readonly halves: [number, number] = [0, 0];

  /** Reads one record's bytes into the scratch; false when it needs the general decoder. */
  private readFast(record: Uint8Array): boolean {
    const f = this.f;
    f.reset();
    this.input = record;
    this.at = 0;
    this.end = record.length;
    const h = this.halves;
    try {
      while (this.at < this.end) {
        const key = this.varint32();
        const field = key >>> 3;
        const wire = key & 7;
        if (wire === 2) {
          const length = this.varint32();
          const at = this.at;
          if (at + length > this.end) return false;
          this.at += length;
          if (field === 4) f.exporter.set(record, at, length);
          else if (field === 12) f.src.set(record, at, length);
          else if (field === 13) f.dst.set(record, at, length);
          else if (field === 27) f.nextHop.set(record, at, length);
          else if (field === 30) f.application = this.applicationAt(record, at, length);
          else return false;
        } else if (wire === 0) {
          if (
            field === 1 ||
            field === 2 ||
            field === 3 ||
            field === 20 ||
            field === 21 ||
            field === 23 ||
            field === 24
          ) {
            this.varint64(h);
            const lo = h[0];
            const hi = h[1];
            if (field === 1) {
              f.receivedLo = lo;
              f.receivedHi = hi;
            } else if (field === 2) {
              f.startLo = lo;
              f.startHi = hi;
            } else if (field === 3) {
              f.endLo = lo;
              f.endHi = hi;
            } else if (field === 20) {
              f.bytesLo = lo;
              f.bytesHi = hi;
            } else if (field === 21) {
              f.packetsLo = lo;
              f.packetsHi = hi;
            } else if (field === 23) {
              f.rawBytesLo = lo;
              f.rawBytesHi = hi;
            } else {
              f.rawPacketsLo = lo;
              f.rawPacketsHi = hi;
            }
            continue;
          }
          const v = this.varint32();
          switch (field) {
            case 5:
              f.observationDomainId = v;
              break;
            case 6:
              f.flowProtocol = v;
              break;
            case 7:
              break; // export sequence number: not stored
            case 8:
              f.inInterface = v;
              break;
            case 9:
              f.outInterface = v;
              break;
            case 10:
              f.direction = v;
              break;
            case 11:
              f.ipVersion = v;
              break;
            case 14:
              f.srcPrefixLength = v;
              break;
            case 15:
              f.dstPrefixLength = v;
              break;
            case 16:
              f.srcPort = v;
              break;
            case 17:
              f.dstPort = v;
              break;
            case 18:
              f.protocol = v;
              break;
            case 19:
              f.tcpFlags = v;
              break;
            case 22:
              f.samplingRate = v;
              break;
            case 25:
              f.srcAs = v;
              break;
            case 26:
              f.dstAs = v;
              break;
            case 28:
              f.srcVlanId = v;
              break;
            case 29:
              f.dstVlanId = v;
              break;
            default:
              return false;
          }
        } else return false;
      }
      return true;
    } catch (error) {
      if (error === notFast) return false;
      throw error;
    } finally {
      this.input = EMPTY;
    }
  }

  /** An application name from its bytes: ASCII names come from a small table and are looked up, not decoded. */
  private applicationAt(buf: Uint8Array, at: number, length: number): Application {
    if (length === 0) return NO_APPLICATION;
    let hash = 0x811c9dc5;
    for (let i = at; i < at + length; i++) {
      const b = buf[i]!;
      if (b >= 0x80) throw notFast;
      hash = mix(hash, b);
    }
    const bucket = this.applications.get(hash);
    if (bucket) {
      for (const entry of bucket) {
        if (entry.bytes.length !== length) continue;
        let same = true;
        for (let i = 0; i < length && same; i++) same = entry.bytes[i] === buf[at + i];
        if (same) return entry;
      }
    }
    const bytes = buf.slice(at, at + length);
    const entry = this.applicationNamed(String.fromCharCode(...bytes));
    if (bucket) bucket.push(entry);
    else this.applications.set(hash, [entry]);
    return entry;
  }

  private applicationNamed(name: string): Application {
    if (name === '') return NO_APPLICATION;
    let entry = this.applicationsByName.get(name);
    if (!entry) {
      entry = { bytes: Buffer.from(name, 'utf8'), name };
      this.applicationsByName.set(name, entry);
    }
    return entry;
  }

  /** The scratch from a decoded record (the general path). */
  private readRecord(r: FlowRecord): void {
    const f = this.f;
    const split = (value: bigint): [number, number] => {
      const v = BigInt.asUintN(64, value);
      return [Number(v & 0xffff_ffffn), Number(v >> 32n)];
    };
    [f.receivedLo, f.receivedHi] = split(r.timeReceivedNs);
    [f.startLo, f.startHi] = split(r.timeFlowStartNs);
    [f.endLo, f.endHi] = split(r.timeFlowEndNs);
    f.exporter.set(r.exporterAddress, 0, r.exporterAddress.length);
    f.observationDomainId = r.observationDomainId >>> 0;
    f.flowProtocol = r.flowProtocol >>> 0;
    f.inInterface = r.inInterface >>> 0;
    f.outInterface = r.outInterface >>> 0;
    f.direction = r.direction >>> 0;
    f.ipVersion = r.ipVersion >>> 0;
    f.src.set(r.srcAddress, 0, r.srcAddress.length);
    f.dst.set(r.dstAddress, 0, r.dstAddress.length);
    f.srcPrefixLength = r.srcPrefixLength >>> 0;
    f.dstPrefixLength = r.dstPrefixLength >>> 0;
    f.srcPort = r.srcPort >>> 0;
    f.dstPort = r.dstPort >>> 0;
    f.protocol = r.protocol >>> 0;
    f.tcpFlags = r.tcpFlags >>> 0;
    [f.bytesLo, f.bytesHi] = split(r.bytes);
    [f.packetsLo, f.packetsHi] = split(r.packets);
    f.samplingRate = r.samplingRate >>> 0;
    [f.rawBytesLo, f.rawBytesHi] = split(r.rawBytes);
    [f.rawPacketsLo, f.rawPacketsHi] = split(r.rawPackets);
    f.srcAs = r.srcAs >>> 0;
    f.dstAs = r.dstAs >>> 0;
    f.nextHop.set(r.nextHopAddress, 0, r.nextHopAddress.length);
    f.srcVlanId = r.srcVlanId >>> 0;
    f.dstVlanId = r.dstVlanId >>> 0;
    f.application = this.applicationNamed(r.applicationName);
  }

  // ---- writing -------------------------------------------------------------------------------------------

  /** The exporter's text (cached while records keep the same exporter), and writes it to the raw row. */
  private exporter(span: Span): string {
    if (!span.equals(this.exporterBytes)) {
      this.exporterBytes = span.copy();
      this.exporterText = span.len > 0 ? formatIpAddress(this.exporterBytes) : '';
      this.exporterTextBytes = Buffer.from(this.exporterText, 'latin1');
    }
    this.raw.bytesString(this.exporterTextBytes);
    return this.exporterText;
  }

  private address(span: Span): void {
    if (span.len === 4) this.raw.ipv4Text(span.buf, span.at);
    else if (span.len === 16) this.raw.string(formatIpAddress(span.buf.subarray(span.at, span.at + 16)));
    else this.raw.bytesString(EMPTY);
  }

  /** The scratch's record: one raw row and its share of a minute cell. */
  private emit(): void {
    const f = this.f;
    const w = this.raw;
    const receivedMs = nsToMs(f.receivedLo, f.receivedHi);
    const ipVersion = ipVersionNumber(f.ipVersion);
    w.dateTime64Ms(receivedMs)
      .dateTime64Ms(nsToMs(f.startLo, f.startHi))
      .dateTime64Ms(nsToMs(f.endLo, f.endHi));
    const exporter = this.exporter(f.exporter);
    w.uint32(f.observationDomainId)
      .uint8(f.flowProtocol)
      .uint32(f.inInterface)
      .uint32(f.outInterface)
      .uint8(f.direction)
      .uint8(ipVersion);
    this.address(f.src);
    this.address(f.dst);
    w.uint8(f.srcPrefixLength)
      .uint8(f.dstPrefixLength)
      .uint16(f.srcPort)
      .uint16(f.dstPort)
      .uint8(f.protocol)
      .uint16(f.tcpFlags)
      .uint32(f.bytesLo)
      .uint32(f.bytesHi)
      .uint32(f.packetsLo)
      .uint32(f.packetsHi)
      .uint32(f.samplingRate)
      .uint32(f.rawBytesLo)
      .uint32(f.rawBytesHi)
      .uint32(f.rawPacketsLo)
      .uint32(f.rawPacketsHi)
      .uint32(f.srcAs)
      .uint32(f.dstAs);
    this.address(f.nextHop);
    const application = f.application;
    w.uint16(f.srcVlanId).uint16(f.dstVlanId).bytesString(application.bytes).endRow();

    const time = Math.floor(Math.floor(receivedMs / 1000) / 60) * 60;
    const srcPort = this.foldSourcePort(f.srcPort);
    let hash = mix(mix(mix(0x811c9dc5, time), f.inInterface), f.outInterface);
    hash = mix(mix(mix(hash, (ipVersion << 8) | f.protocol), srcPort), f.srcAs);
    hash = mix(mix(hash, f.dstAs), exporter.length ^ (application.bytes.length << 6));
    const first = this.cells.get(hash);
    for (let c = first; c; c = c.next) {
      if (
        c.time === time &&
        c.inInterface === f.inInterface &&
        c.outInterface === f.outInterface &&
        c.ipVersion === ipVersion &&
        c.protocol === f.protocol &&
        c.srcPort === srcPort &&
        c.srcAs === f.srcAs &&
        c.dstAs === f.dstAs &&
        c.exporter === exporter &&
        c.application === application.name
      ) {
        add(c, f);
        this.records++;
        return;
      }
    }
    const cell: MinuteCell = {
      hash,
      time,
      exporter,
      inInterface: f.inInterface,
      outInterface: f.outInterface,
      ipVersion,
      protocol: f.protocol,
      srcPort,
      application: application.name,
      srcAs: f.srcAs,
      dstAs: f.dstAs,
      bytesLo: 0,
      bytesHi: 0,
      packetsLo: 0,
      packetsHi: 0,
      flows: 0,
      next: first,
    };
    add(cell, f);
    this.cells.set(hash, cell);
    this.cellCount++;
    this.records++;
  }
}

/** Adds a record's counters to a cell, carrying the low halves into the high ones before they lose precision. */
function add(c: MinuteCell, f: Fields): void {
  c.bytesLo += f.bytesLo;
  c.bytesHi += f.bytesHi;
  c.packetsLo += f.packetsLo;
  c.packetsHi += f.packetsHi;
  if (c.bytesLo >= TWO_POW_32 * 1024) {
    const carry = Math.floor(c.bytesLo / TWO_POW_32);
    c.bytesHi += carry;
    c.bytesLo -= carry * TWO_POW_32;
  }
  if (c.packetsLo >= TWO_POW_32 * 1024) {
    const carry = Math.floor(c.packetsLo / TWO_POW_32);
    c.packetsHi += carry;
    c.packetsLo -= carry * TWO_POW_32;
  }
  c.flows++;
}
