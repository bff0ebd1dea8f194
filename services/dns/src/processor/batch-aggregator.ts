/**
 * The processor's hot path: DnsQuery messages (protobuf bytes) → the rows of every DNS table, without a
 * DnsQuery object, a bigint or a string key per record.
 *
 * `add(bytes)` reads one message into columns (typed arrays; the address and name fields stay in the message's
 * buffer as offsets) and returns its row number; malformed input throws before anything is kept. `aggregate(rows)`
 * then walks the rows once into the minute cells of the three rollups, found through open-addressing tables
 * keyed by bytes (bucket, IP version, address…; no per-record allocation), writes the raw rows as RowBinary
 * bytes (the engine parsed TabSeparated raw rows at about three times the CPU), and clears the columns for the
 * next batch. Names, zones and resolver identities are interned across
 * batches, so a popular name is decoded and its zone computed once, not once per query.
 *
 * The result is the same, row for row and byte for byte, as `aggregateDnsQueries(records.map(decodeDnsQueryFast))`
 * (the reference, kept for tests and fixtures) with `rawFormat: 'tab-separated'`; the RowBinary raw rows hold
 * the same values (the tests compare all of it). One batch at a time: the sink calls
 * `add` for every message of a batch and then `aggregate`, with no await in between.
 */
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  RowBinaryWriter,
  type SinkOutput,
  type SinkRowBinary,
  type SinkTabSeparated,
  TabSeparatedWriter,
} from '@kansoku/kit';
import { DNS_RAW_TABLE } from '../tables.ts';
import {
  type AggregateOptions,
  type ClientCell,
  latencyBucket,
  QTYPE_A,
  QTYPE_AAAA,
  type QueryCell,
  RAW_QUERY_COLUMNS,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  rollupOutputs,
  type ZoneCell,
} from './aggregate.ts';
import { DnsQueryDecodeError, forEachBatchQuery } from './dns-query-decoder.ts';
import { registeredDomain } from './zone.ts';

/**
 * A hash table from byte strings to dense entry numbers (0, 1, 2… in insertion order), open addressing with
 * linear probing; keys are copied into one pool. Lookups allocate nothing.
 */
export class ByteKeyTable {
  private slots: Int32Array;
  private mask: number;
  private pool: Uint8Array;
  private poolUsed = 0;
  private starts: Int32Array;
  private lengths: Int32Array;
  private hashes: Int32Array;
  size = 0;

  constructor(initialSlots = 1024) {
    const n = 1 << Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.slots = new Int32Array(n);
    this.mask = n - 1;
    this.pool = new Uint8Array(n * 8);
    this.starts = new Int32Array(n >> 1);
    this.lengths = new Int32Array(n >> 1);
    this.hashes = new Int32Array(n >> 1);
  }

  /** FNV-1a of `key[0..length)`. */
  static hash(key: Uint8Array, start: number, length: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < start + length; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
    return h | 0;
  }

  /** The entry of `key[start..start+length)` with hash `h`, or -1. */
  find(key: Uint8Array, start: number, length: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[i]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.lengths[e] === length && this.equal(e, key, start, length)) return e;
    }
  }

  private equal(e: number, key: Uint8Array, start: number, length: number): boolean {
    const pool = this.pool;
    const at = this.starts[e]!;
    for (let i = 0; i < length; i++) if (pool[at + i] !== key[start + i]) return false;
    return true;
  }

  /** Adds a key known to be absent; returns its entry number. */
  insert(key: Uint8Array, start: number, length: number, h: number): number {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    if (this.poolUsed + length > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + length));
      pool.set(this.pool.subarray(0, this.poolUsed));
      this.pool = pool;
    }
    const e = this.size++;
    this.pool.set(key.subarray(start, start + length), this.poolUsed);
    this.starts[e] = this.poolUsed;
    this.lengths[e] = length;
    this.hashes[e] = h;
    this.poolUsed += length;
    this.place(e, h);
    return e;
  }

  /** Where entry `e`'s key starts in `keys()`. */
  keyStart(e: number): number {
    return this.starts[e]!;
  }

  keyLength(e: number): number {
    return this.lengths[e]!;
  }

  /** The key pool (replaced when it grows: read it after the inserts). */
  keys(): Uint8Array {
    return this.pool;
  }

  private place(e: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }

  private grow(): void {
    const n = this.slots.length * 2;
    this.slots = new Int32Array(n);
    this.mask = n - 1;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n >> 1);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts);
    this.lengths = grow(this.lengths);
    this.hashes = grow(this.hashes);
    for (let e = 0; e < this.size; e++) this.place(e, this.hashes[e]!);
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
    this.poolUsed = 0;
  }
}

// ----- reading one message -------------------------------------------------------------------------------
// The cursor lives at module level (a read never awaits), as in dns-query-decoder.ts, with the same rules:
// unknown fields skipped by wire type, the last occurrence of a field wins, malformed input throws.

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;
/** The halves of the last 64-bit varint read. */
let lo = 0;
let hi = 0;

function varint(): number {
  let result = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DnsQueryDecodeError('varint runs past the end');
    const b = buf[pos++]!;
    result += (b & 0x7f) * factor;
    if (b < 0x80) return result;
    factor *= 128;
  }
  throw new DnsQueryDecodeError('varint longer than 10 bytes');
}

function varint64(): void {
  let l = 0;
  let h = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new DnsQueryDecodeError('varint runs past the end');
    const b = buf[pos++]!;
    if (shift < 28) l |= (b & 0x7f) << shift;
    else if (shift === 28) {
      l |= (b & 0x0f) << 28;
      h |= (b & 0x7f) >>> 4;
    } else h |= (b & 0x7f) << (shift - 32);
    if (b < 0x80) {
      lo = l >>> 0;
      hi = h >>> 0;
      return;
    }
    shift += 7;
  }
  throw new DnsQueryDecodeError('varint longer than 10 bytes');
}

const TWO_32 = 4_294_967_296;

function uint32(): number {
  return varint() % TWO_32;
}

function length(): number {
  const n = varint();
  if (n > end - pos) throw new DnsQueryDecodeError('length-delimited field runs past the end');
  return n;
}

/** Milliseconds of a 64-bit nanosecond count, exactly (floor), without a bigint: 2^32 = 4294·10^6 + 967296. */
function nsToMs(nsHi: number, nsLo: number): number {
  return nsHi * 4294 + Math.floor((nsHi * 967_296 + nsLo) / 1_000_000);
}

const FLAG_RD = 1;
const FLAG_DO = 2;
const FLAG_ANSWERED = 4;
const FLAG_TRUNCATED = 8;

/** Interned names (and their zones) are forgotten past this many, between batches. */
const MAX_NAMES = 200_000;
const MAX_IDENTITIES = 10_000;

interface FastQueryCell {
  cell: QueryCell;
  /** Answered queries per latency bucket. */
  latency: Float64Array;
}

export interface BatchAggregatorOptions extends AggregateOptions {
  /**
   * How the raw rows are written: RowBinary (default; the engine reads it at a fraction of the cost of text) or
   * TabSeparated (the bytes aggregateDnsQueries writes, for comparing the two paths).
   */
  rawFormat?: 'row-binary' | 'tab-separated';
}

export class DnsQueryBatchAggregator {
  private capacity = 0;
  private count = 0;
  private src: Buffer[] = [];
  private timeMs = new Float64Array(0);
  private tqLo = new Uint32Array(0);
  private tqHi = new Uint32Array(0);
  private clientOff = new Int32Array(0);
  private clientLen = new Int32Array(0);
  private serverOff = new Int32Array(0);
  private serverLen = new Int32Array(0);
  private qnameOff = new Int32Array(0);
  private qnameLen = new Int32Array(0);
  private resolverOf = new Int32Array(0);
  private clientPort = new Uint32Array(0);
  private ipVersion = new Uint32Array(0);
  private transport = new Uint32Array(0);
  private messageId = new Uint32Array(0);
  private qtype = new Uint32Array(0);
  private querySize = new Uint32Array(0);
  private rcodeOf = new Uint32Array(0);
  private rtLo = new Uint32Array(0);
  private rtHi = new Uint32Array(0);
  private responseSize = new Uint32Array(0);
  private answerCount = new Uint32Array(0);
  private sourceOf = new Uint32Array(0);
  private flags = new Uint8Array(0);
  /** Per row, filled by aggregate: the minute client cell (its text address) and the name. */
  private rowClient = new Int32Array(0);
  private rowName = new Int32Array(0);

  /** Resolver identities: bytes and text, index = the rows' resolverOf. */
  private identityBytes: Buffer[] = [];
  private identityText: string[] = [];
  /** The text's UTF-8 (what a String column holds), copied into raw rows without a string write per row. */
  private identityUtf8: Buffer[] = [];
  private identityByText = new Map<string, number>();

  /** Query names by their bytes → text and zone number; zones by text. */
  private names = new ByteKeyTable(1 << 16);
  private nameText: (string | undefined)[] = [];
  private nameUtf8: Buffer[] = [];
  private nameZone: number[] = [];
  private zoneText: string[] = [];
  private zoneUtf8: Buffer[] = [];
  private zoneByText = new Map<string, number>();

  private readonly queryTable = new ByteKeyTable(1024);
  private readonly clientTable = new ByteKeyTable(1 << 16);
  private readonly zoneTable = new ByteKeyTable(1 << 14);
  private readonly key = new Uint8Array(64);

  constructor(private readonly options: BatchAggregatorOptions) {
    this.identity(Buffer.alloc(0), 0, 0);
  }

  private grow(): void {
    const n = Math.max(1024, this.capacity * 2);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.timeMs = f64(this.timeMs);
    this.tqLo = u32(this.tqLo);
    this.tqHi = u32(this.tqHi);
    this.clientOff = i32(this.clientOff);
    this.clientLen = i32(this.clientLen);
    this.serverOff = i32(this.serverOff);
    this.serverLen = i32(this.serverLen);
    this.qnameOff = i32(this.qnameOff);
    this.qnameLen = i32(this.qnameLen);
    this.resolverOf = i32(this.resolverOf);
    this.clientPort = u32(this.clientPort);
    this.ipVersion = u32(this.ipVersion);
    this.transport = u32(this.transport);
    this.messageId = u32(this.messageId);
    this.qtype = u32(this.qtype);
    this.querySize = u32(this.querySize);
    this.rcodeOf = u32(this.rcodeOf);
    this.rtLo = u32(this.rtLo);
    this.rtHi = u32(this.rtHi);
    this.responseSize = u32(this.responseSize);
    this.answerCount = u32(this.answerCount);
    this.sourceOf = u32(this.sourceOf);
    const flags = new Uint8Array(n);
    flags.set(this.flags);
    this.flags = flags;
    this.rowClient = new Int32Array(n);
    this.rowName = new Int32Array(n);
    this.capacity = n;
  }

  /** The number of the resolver identity in `bytes[start..start+length)`. */
  private identity(bytes: Buffer, start: number, length: number): number {
    const known = this.identityBytes;
    // A batch comes from a handful of resolvers: compare bytes with the first few before decoding text.
    for (let i = 0; i < known.length && i < 8; i++) {
      const k = known[i]!;
      if (k.length !== length) continue;
      let same = true;
      for (let j = 0; j < length; j++) {
        if (k[j] !== bytes[start + j]) {
          same = false;
          break;
        }
      }
      if (same) return i;
    }
    const text = bytes.toString('utf8', start, start + length);
    const found = this.identityByText.get(text);
    if (found !== undefined) return found;
    const n = known.length;
    known.push(Buffer.from(bytes.subarray(start, start + length)));
    this.identityText.push(text);
    this.identityUtf8.push(Buffer.from(text, 'utf8'));
    this.identityByText.set(text, n);
    return n;
  }

  /**
   * Reads the DnsQuery in `input[start..stop)` (the whole buffer by default); returns its row number. Throws
   * DnsQueryDecodeError when malformed, keeping nothing.
   */
  add(input: Buffer, start = 0, stop: number = input.length): number {
    buf = input;
    pos = start;
    end = stop;
    let tqL = 0;
    let tqH = 0;
    let trL = 0;
    let trH = 0;
    let rtL = 0;
    let rtH = 0;
    let cOff = 0;
    let cLen = 0;
    let sOff = 0;
    let sLen = 0;
    let nOff = 0;
    let nLen = 0;
    let rOff = 0;
    let rLen = 0;
    let port = 0;
    let ipv = 0;
    let transport = 0;
    let id = 0;
    let qtype = 0;
    let qsize = 0;
    let rcode = 0;
    let rsize = 0;
    let answers = 0;
    let source = 0;
    let flags = 0;
    while (pos < end) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) {
        switch (field) {
          case 1:
            varint64();
            tqL = lo;
            tqH = hi;
            continue;
          case 2:
            varint64();
            trL = lo;
            trH = hi;
            continue;
          case 18:
            varint64();
            rtL = lo;
            rtH = hi;
            continue;
          case 4:
            port = uint32();
            continue;
          case 7:
            ipv = uint32();
            continue;
          case 8:
            transport = uint32();
            continue;
          case 9:
            id = uint32();
            continue;
          case 11:
            qtype = uint32();
            continue;
          case 13:
            flags = varint() !== 0 ? flags | FLAG_RD : flags & ~FLAG_RD;
            continue;
          case 14:
            flags = varint() !== 0 ? flags | FLAG_DO : flags & ~FLAG_DO;
            continue;
          case 15:
            qsize = uint32();
            continue;
          case 16:
            flags = varint() !== 0 ? flags | FLAG_ANSWERED : flags & ~FLAG_ANSWERED;
            continue;
          case 17:
            rcode = uint32();
            continue;
          case 19:
            rsize = uint32();
            continue;
          case 20:
            answers = uint32();
            continue;
          case 21:
            flags = varint() !== 0 ? flags | FLAG_TRUNCATED : flags & ~FLAG_TRUNCATED;
            continue;
          case 22:
            source = uint32();
            continue;
          default:
            // serverPort (6), qclass (12) and unknown varints: not in any table.
            varint();
            continue;
        }
      }
      if (wire === 2) {
        const n = length();
        switch (field) {
          case 3:
            cOff = pos;
            cLen = n;
            break;
          case 5:
            sOff = pos;
            sLen = n;
            break;
          case 10:
            nOff = pos;
            nLen = n;
            break;
          case 23:
            rOff = pos;
            rLen = n;
            break;
        }
        pos += n;
        continue;
      }
      if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else throw new DnsQueryDecodeError(`unsupported wire type ${wire} (field ${field})`);
      if (pos > end) throw new DnsQueryDecodeError('fixed-size field runs past the end');
    }

    if (this.count === this.capacity) this.grow();
    const r = this.count++;
    this.src[r] = input;
    const queryTimeSet = tqL !== 0 || tqH !== 0;
    this.timeMs[r] = queryTimeSet ? nsToMs(tqH, tqL) : nsToMs(trH, trL);
    this.tqLo[r] = tqL;
    this.tqHi[r] = tqH;
    this.rtLo[r] = rtL;
    this.rtHi[r] = rtH;
    this.clientOff[r] = cOff;
    this.clientLen[r] = cLen;
    this.serverOff[r] = sOff;
    this.serverLen[r] = sLen;
    this.qnameOff[r] = nOff;
    this.qnameLen[r] = nLen;
    this.resolverOf[r] = this.identity(input, rOff, rLen);
    this.clientPort[r] = port;
    this.ipVersion[r] = ipv;
    this.transport[r] = transport;
    this.messageId[r] = id;
    this.qtype[r] = qtype;
    this.querySize[r] = qsize;
    this.rcodeOf[r] = rcode;
    this.responseSize[r] = rsize;
    this.answerCount[r] = answers;
    this.sourceOf[r] = source;
    this.flags[r] = flags;
    return r;
  }

  /**
   * Reads the queries of a DnsQueryBatch message and appends their row numbers to `into`. A malformed message
   * (or query in it) throws and leaves nothing behind: neither rows nor numbers.
   */
  addBatch(input: Buffer, into: number[]): void {
    const rowsBefore = this.count;
    const intoBefore = into.length;
    try {
      forEachBatchQuery(input, (start, stop) => {
        into.push(this.add(input, start, stop));
      });
    } catch (error) {
      this.count = rowsBefore;
      into.length = intoBefore;
      throw error;
    }
  }

  /** The name number of row r's qname (interned with its zone). */
  private nameOf(r: number): number {
    const src = this.src[r]!;
    const off = this.qnameOff[r]!;
    const len = this.qnameLen[r]!;
    const h = ByteKeyTable.hash(src, off, len);
    const found = this.names.find(src, off, len, h);
    if (found >= 0) return found;
    const n = this.names.insert(src, off, len, h);
    const text = src.toString('utf8', off, off + len);
    this.nameText[n] = text;
    this.nameUtf8[n] = Buffer.from(text, 'utf8');
    const zone = registeredDomain(text);
    let z = this.zoneByText.get(zone);
    if (z === undefined) {
      z = this.zoneText.length;
      this.zoneText.push(zone);
      this.zoneUtf8.push(Buffer.from(zone, 'utf8'));
      this.zoneByText.set(zone, z);
    }
    this.nameZone[n] = z;
    return n;
  }

  /** FNV-1a over the fields that identify a query, as keepInRawSample (aggregate.ts) computes it. */
  private sampleHash(r: number): number {
    let h = 0x811c9dc5;
    const src = this.src[r]!;
    const off = this.clientOff[r]!;
    const len = this.clientLen[r]!;
    for (let i = off; i < off + len; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    const port = this.clientPort[r]!;
    const id = this.messageId[r]!;
    h = Math.imul(h ^ (port & 0xff), 0x01000193);
    h = Math.imul(h ^ ((port >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ (id & 0xff), 0x01000193);
    h = Math.imul(h ^ ((id >>> 8) & 0xff), 0x01000193);
    const tl = this.tqLo[r]!;
    const th = this.tqHi[r]!;
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((tl >>> s) & 0xff), 0x01000193);
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((th >>> s) & 0xff), 0x01000193);
    return h >>> 0;
  }

  /**
   * The rows of every table for the given rows (numbers from `add`; each once), then a clean slate for the
   * next batch.
   */
  aggregate(rows: readonly number[]): SinkOutput[] {
    try {
      return this.build(rows);
    } finally {
      this.reset();
    }
  }

  private reset(): void {
    this.src.fill(undefined as unknown as Buffer, 0, this.count);
    this.count = 0;
    this.queryTable.clear();
    this.clientTable.clear();
    this.zoneTable.clear();
    if (this.names.size > MAX_NAMES) {
      this.names = new ByteKeyTable(1 << 16);
      this.nameText = [];
      this.nameUtf8 = [];
      this.nameZone = [];
      this.zoneText = [];
      this.zoneUtf8 = [];
      this.zoneByText = new Map();
    }
    if (this.identityText.length > MAX_IDENTITIES) {
      this.identityBytes = [];
      this.identityText = [];
      this.identityUtf8 = [];
      this.identityByText = new Map();
      this.identity(Buffer.alloc(0), 0, 0);
    }
  }

  private build(rows: readonly number[]): SinkOutput[] {
    const key = this.key;
    const queryCells: FastQueryCell[] = [];
    const clientCells: ClientCell[] = [];
    const zoneCells: ZoneCell[] = [];
    const oneIn = this.options.rawSampleOneIn;
    const keepRaw = oneIn > 0;
    const raw: number[] = [];
    // Buckets: (minute, resolver) pairs; a batch has one or two minutes of a few resolvers.
    const bucketTime: number[] = [];
    const bucketResolver: number[] = [];
    let lastBucket = -1;

    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const src = this.src[r]!;
      const tMinute = Math.floor(this.timeMs[r]! / 60_000) * 60;
      const resolverNumber = this.resolverOf[r]!;
      let bucket = lastBucket;
      if (bucket < 0 || bucketTime[bucket] !== tMinute || bucketResolver[bucket] !== resolverNumber) {
        bucket = -1;
        for (let b = 0; b < bucketTime.length; b++) {
          if (bucketTime[b] === tMinute && bucketResolver[b] === resolverNumber) {
            bucket = b;
            break;
          }
        }
        if (bucket < 0) {
          bucket = bucketTime.length;
          bucketTime.push(tMinute);
          bucketResolver.push(resolverNumber);
        }
        lastBucket = bucket;
      }
      const resolver = this.identityText[resolverNumber]!;
      const v = this.ipVersion[r]!;
      const ipVersion = v === 1 ? 4 : v === 2 ? 6 : 0;
      const flags = this.flags[r]!;
      const answered = flags & FLAG_ANSWERED ? 1 : 0;
      const rcode = answered ? this.rcodeOf[r]! : 0;
      const transport = this.transport[r]!;
      const qtype = this.qtype[r]!;
      const nx = answered && rcode === RCODE_NXDOMAIN ? 1 : 0;
      const sf = answered && rcode === RCODE_SERVFAIL ? 1 : 0;

      // Query cell: (bucket, IP version, transport, qtype, answered, rcode).
      key[0] = bucket;
      key[1] = bucket >>> 8;
      key[2] = bucket >>> 16;
      key[3] = ipVersion;
      writeU32(key, 4, transport);
      writeU32(key, 8, qtype);
      writeU32(key, 12, rcode);
      key[16] = answered;
      let h = ByteKeyTable.hash(key, 0, 17);
      let e = this.queryTable.find(key, 0, 17, h);
      if (e < 0) {
        e = this.queryTable.insert(key, 0, 17, h);
        queryCells.push({
          cell: {
            time: tMinute,
            resolver,
            ip_version: ipVersion,
            protocol: transport,
            qtype,
            answered,
            rcode,
            queries: 0,
            truncated: 0,
            query_bytes: 0,
            response_bytes: 0,
            response_time_us: 0,
            latency: new Map(),
          },
          latency: new Float64Array(256),
        });
      }
      const q = queryCells[e]!;
      const cell = q.cell;
      cell.queries++;
      cell.query_bytes += this.querySize[r]!;
      if (answered) {
        const latencyUs = this.rtHi[r]! * TWO_32 + this.rtLo[r]!;
        if (flags & FLAG_TRUNCATED) cell.truncated++;
        cell.response_bytes += this.responseSize[r]!;
        cell.response_time_us += latencyUs;
        const b = latencyBucket(latencyUs);
        q.latency[b] = q.latency[b]! + 1;
      }

      // Client cell: (bucket, IP version, address); an address of any other length than 4 or 16 is ''.
      const cOff = this.clientOff[r]!;
      let cLen = this.clientLen[r]!;
      if (cLen !== 4 && cLen !== 16) cLen = 0;
      key[4] = cLen;
      for (let j = 0; j < cLen; j++) key[5 + j] = src[cOff + j]!;
      h = ByteKeyTable.hash(key, 0, 5 + cLen);
      e = this.clientTable.find(key, 0, 5 + cLen, h);
      if (e < 0) {
        e = this.clientTable.insert(key, 0, 5 + cLen, h);
        clientCells.push({
          time: tMinute,
          resolver,
          ip_version: ipVersion,
          client: cLen === 0 ? '' : formatIpAddress(src.subarray(cOff, cOff + cLen)),
          queries: 0,
          a_queries: 0,
          aaaa_queries: 0,
          nxdomain: 0,
          servfail: 0,
        });
      }
      const c = clientCells[e]!;
      c.queries++;
      if (qtype === QTYPE_A) c.a_queries++;
      else if (qtype === QTYPE_AAAA) c.aaaa_queries++;
      c.nxdomain += nx;
      c.servfail += sf;
      this.rowClient[r] = e;

      // Zone cell: (bucket, zone).
      const name = this.nameOf(r);
      this.rowName[r] = name;
      const zone = this.nameZone[name]!;
      writeU32(key, 3, zone);
      h = ByteKeyTable.hash(key, 0, 7);
      e = this.zoneTable.find(key, 0, 7, h);
      if (e < 0) {
        e = this.zoneTable.insert(key, 0, 7, h);
        zoneCells.push({
          time: tMinute,
          resolver,
          zone: this.zoneText[zone]!,
          queries: 0,
          nxdomain: 0,
          servfail: 0,
        });
      }
      const z = zoneCells[e]!;
      z.queries++;
      z.nxdomain += nx;
      z.servfail += sf;

      if (keepRaw && (oneIn <= 1 || this.sampleHash(r) % oneIn === 0)) raw.push(r);
    }

    const minute: QueryCell[] = queryCells.map(({ cell, latency }) => {
      for (let b = 0; b < 256; b++) if (latency[b]! > 0) cell.latency.set(b, latency[b]!);
      return cell;
    });
    const out: SinkOutput[] = rollupOutputs(minute, clientCells, zoneCells);
    if (keepRaw) {
      out.push(
        this.options.rawFormat === 'tab-separated'
          ? this.rawRows(raw, clientCells, oneIn)
          : this.rawRowBinary(raw, clientCells, oneIn),
      );
    }
    return out;
  }

  /** Orders row numbers by query time, stably (row numbers grow with arrival order and break ties). */
  private sortByTime(raw: number[]): void {
    const timeMs = this.timeMs;
    for (let i = 1; i < raw.length; i++) {
      if (timeMs[raw[i]!]! < timeMs[raw[i - 1]!]!) {
        raw.sort((a, b) => timeMs[a]! - timeMs[b]! || a - b);
        return;
      }
    }
  }

  /** The raw rows in query-time order (stable), as TabSeparated bytes: see rawQueryRows in aggregate.ts. */
  private rawRows(raw: number[], clientCells: readonly ClientCell[], oneIn: number): SinkTabSeparated {
    const timeMs = this.timeMs;
    this.sortByTime(raw);
    const w = new TabSeparatedWriter(raw.length * 140 + 1024);
    const weight = Math.max(1, oneIn);
    // A resolver answers from a handful of addresses: format one only when it differs from the last row's.
    const lastServerBytes = new Uint8Array(16);
    let lastServerLen = -1;
    let lastServer = '';
    for (const r of raw) {
      const src = this.src[r]!;
      const flags = this.flags[r]!;
      const answered = flags & FLAG_ANSWERED;
      const sOff = this.serverOff[r]!;
      const sLen = this.serverLen[r]!;
      const sKept = sLen === 4 || sLen === 16 ? sLen : 0;
      let sameServer = sKept === lastServerLen;
      for (let j = 0; sameServer && j < sKept; j++) sameServer = lastServerBytes[j] === src[sOff + j];
      if (!sameServer) {
        lastServer = sKept === 0 ? '' : formatIpAddress(src.subarray(sOff, sOff + sKept));
        for (let j = 0; j < sKept; j++) lastServerBytes[j] = src[sOff + j]!;
        lastServerLen = sKept;
      }
      const v = this.ipVersion[r]!;
      const name = this.rowName[r]!;
      w.dateTime64Ms(timeMs[r]!)
        .string(this.identityText[this.resolverOf[r]!]!)
        .ascii(clientCells[this.rowClient[r]!]!.client)
        .uint(this.clientPort[r]!)
        .ascii(lastServer)
        .uint(v === 1 ? 4 : v === 2 ? 6 : 0)
        .uint(this.transport[r]!)
        .uint(this.messageId[r]! & 0xffff)
        .string(this.nameText[name]!)
        .string(this.zoneText[this.nameZone[name]!]!)
        .uint(this.qtype[r]!)
        .uint(flags & FLAG_RD ? 1 : 0)
        .uint(flags & FLAG_DO ? 1 : 0)
        .uint(answered ? 1 : 0)
        .uint(answered ? this.rcodeOf[r]! : 0);
      const rtHi = answered ? this.rtHi[r]! : 0;
      const rtLo = answered ? this.rtLo[r]! : 0;
      if (rtHi < 0x200000) w.uint(rtHi * TWO_32 + rtLo);
      else w.ascii(((BigInt(rtHi) << 32n) | BigInt(rtLo)).toString());
      w.uint(this.querySize[r]!)
        .uint(answered ? this.responseSize[r]! : 0)
        .uint(answered ? Math.min(this.answerCount[r]!, 65535) : 0)
        .uint(answered && flags & FLAG_TRUNCATED ? 1 : 0)
        .uint(this.sourceOf[r]!)
        .uint(weight)
        .endRow();
    }
    return {
      table: DNS_RAW_TABLE,
      tabSeparated: { columns: RAW_QUERY_COLUMNS, data: w.bytes(), rows: w.rows },
    };
  }
  /** The raw rows in query-time order (stable) as RowBinary: what the engine reads at the least cost per row. */
  private rawRowBinary(raw: number[], clientCells: readonly ClientCell[], oneIn: number): SinkRowBinary {
    const timeMs = this.timeMs;
    this.sortByTime(raw);
    const w = new RowBinaryWriter(raw.length * 100 + 1024);
    const weight = Math.max(1, oneIn);
    // A resolver answers from a handful of addresses: format one only when it differs from the last row's.
    const lastServerBytes = new Uint8Array(16);
    let lastServerLen = -1;
    let lastServer = Buffer.alloc(0);
    // Strings go in as bytes prepared once per name, zone, resolver or server (a string write per value cost
    // more than the rest of the row); an IPv4 client is written from its octets.
    const identityUtf8 = this.identityUtf8;
    const nameUtf8 = this.nameUtf8;
    const zoneUtf8 = this.zoneUtf8;
    for (const r of raw) {
      const src = this.src[r]!;
      const flags = this.flags[r]!;
      const answered = flags & FLAG_ANSWERED;
      const sOff = this.serverOff[r]!;
      const sLen = this.serverLen[r]!;
      const sKept = sLen === 4 || sLen === 16 ? sLen : 0;
      let sameServer = sKept === lastServerLen;
      for (let j = 0; sameServer && j < sKept; j++) sameServer = lastServerBytes[j] === src[sOff + j];
      if (!sameServer) {
        lastServer = Buffer.from(
          sKept === 0 ? '' : formatIpAddress(src.subarray(sOff, sOff + sKept)),
          'latin1',
        );
        for (let j = 0; j < sKept; j++) lastServerBytes[j] = src[sOff + j]!;
        lastServerLen = sKept;
      }
      const v = this.ipVersion[r]!;
      const name = this.rowName[r]!;
      const zone = zoneUtf8[this.nameZone[name]!]!;
      const resolver = identityUtf8[this.resolverOf[r]!]!;
      // Column widths as in tables.ts: a value wider than its column keeps its low bits.
      w.dateTime64Ms(timeMs[r]!).bytesString(resolver, 0, resolver.length);
      if (this.clientLen[r] === 4) w.ipv4Text(src, this.clientOff[r]!);
      else w.string(clientCells[this.rowClient[r]!]!.client);
      const qname = nameUtf8[name]!;
      w.uint16(this.clientPort[r]!)
        .bytesString(lastServer, 0, lastServer.length)
        .uint8(v === 1 ? 4 : v === 2 ? 6 : 0)
        .uint8(this.transport[r]! & 0xff)
        .uint16(this.messageId[r]!)
        .bytesString(qname, 0, qname.length)
        .bytesString(zone, 0, zone.length)
        .uint16(this.qtype[r]!)
        .uint8(flags & FLAG_RD ? 1 : 0)
        .uint8(flags & FLAG_DO ? 1 : 0)
        .uint8(answered ? 1 : 0)
        .uint16(answered ? this.rcodeOf[r]! : 0)
        .uint32(answered ? this.rtLo[r]! : 0)
        .uint32(answered ? this.rtHi[r]! : 0)
        .uint32(this.querySize[r]!)
        .uint32(answered ? this.responseSize[r]! : 0)
        .uint16(answered ? Math.min(this.answerCount[r]!, 65535) : 0)
        .uint8(answered && flags & FLAG_TRUNCATED ? 1 : 0)
        .uint8(this.sourceOf[r]! & 0xff)
        .uint32(weight)
        .endRow();
    }
    return { table: DNS_RAW_TABLE, rowBinary: { columns: RAW_QUERY_COLUMNS, data: w.bytes(), rows: w.rows } };
  }
}

function writeU32(key: Uint8Array, at: number, value: number): void {
  key[at] = value;
  key[at + 1] = value >>> 8;
  key[at + 2] = value >>> 16;
  key[at + 3] = value >>> 24;
}
