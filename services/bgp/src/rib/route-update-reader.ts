/**
 * Reads the fields of a `kansoku.bgp.v1.RouteUpdate` the RIB needs straight from its wire bytes, without
 * building a message: the receive time, where the router address and the Peer sit, the RIB type, action,
 * family, prefix, length and path id, and where the path attributes (fields 13-22) begin. The attributes are
 * left as bytes: the RIB interns them by those bytes (attributes.ts) and decodes them only for a set it has not
 * seen.
 *
 * `read` returns false for anything outside the shape our producers write (the station and the MRT replay use
 * `encodeRouteUpdate`, which writes what `toBinary` writes): a field before 13 after an attribute field, a
 * field twice, a wire type that does not match, a varint longer than its type allows. The caller then decodes
 * the message with `fromBinary`, which accepts every valid encoding and throws on a malformed one; the result
 * is the same either way (tested).
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;

export class RouteUpdateReader {
  bytes: Uint8Array = new Uint8Array(0);
  /** floor(time_received_ns / 1e6), exact. */
  receivedMs = 0;
  routerStart = 0;
  routerEnd = 0;
  /** The Peer submessage's bytes (empty when absent). */
  peerStart = 0;
  peerEnd = 0;
  hasPeer = false;
  ribType = 0;
  action = 0;
  afi = 0;
  safi = 0;
  prefixStart = 0;
  prefixEnd = 0;
  prefixLength = 0;
  pathId = 0;
  /** Where fields 13-22 start (the message's end when it has none). */
  attributesStart = 0;
  /** Where the message starts and ends in `bytes`. */
  start = 0;
  end = 0;
  private at = 0;
  /** A 32-bit varint was longer than 5 bytes, or a varint ran past the end. */
  private bad = false;

  private varint32(): number {
    const bytes = this.bytes;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.at >= this.end) {
        this.bad = true;
        return 0;
      }
      const b = bytes[this.at++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    this.bad = true;
    return 0;
  }

  /** An unsigned 64-bit varint as floor(value / 1e6). */
  private varintMillis(): number {
    const bytes = this.bytes;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) {
        this.bad = true;
        return 0;
      }
      const b = bytes[this.at++]!;
      const bits = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (b < 0x80) {
        lo >>>= 0;
        hi >>>= 0;
        // hi·2^32 + lo = hi·4294·10^6 + (hi·967296 + lo), the second term exact below 2^53.
        return hi * 4294 + Math.floor((hi * 967_296 + lo) / 1_000_000);
      }
    }
    this.bad = true;
    return 0;
  }

  private skipVarint(): void {
    const bytes = this.bytes;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) break;
      if (bytes[this.at++]! < 0x80) return;
    }
    this.bad = true;
  }

  /** Reads the RouteUpdate in `bytes[start, end)`; false when the fast path does not take it (see above). */
  read(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    this.bytes = bytes;
    this.start = start;
    this.at = start;
    this.end = end;
    this.bad = false;
    this.receivedMs = 0;
    this.routerStart = this.routerEnd = 0;
    this.peerStart = this.peerEnd = 0;
    this.hasPeer = false;
    this.ribType = this.action = this.afi = this.safi = 0;
    this.prefixStart = this.prefixEnd = 0;
    this.prefixLength = this.pathId = 0;
    let seen = 0;
    while (this.at < this.end) {
      const tagStart = this.at;
      const tag = this.varint32();
      if (this.bad) return false;
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field >= 13) {
        this.attributesStart = tagStart;
        return true;
      }
      if (field === 0 || seen & (1 << field)) return false;
      seen |= 1 << field;
      const lengthDelimited = field === 3 || field === 4 || field === 10;
      if (wireType !== (lengthDelimited ? LENGTH_DELIMITED : VARINT)) return false;
      if (lengthDelimited) {
        const length = this.varint32();
        const start = this.at;
        if (this.bad || length > this.end - start) return false;
        this.at = start + length;
        if (field === 3) {
          this.routerStart = start;
          this.routerEnd = this.at;
        } else if (field === 4) {
          this.peerStart = start;
          this.peerEnd = this.at;
          this.hasPeer = true;
        } else {
          this.prefixStart = start;
          this.prefixEnd = this.at;
        }
        continue;
      }
      switch (field) {
        case 1:
          this.receivedMs = this.varintMillis();
          break;
        case 5:
          this.ribType = this.varint32();
          break;
        case 7:
          this.action = this.varint32();
          break;
        case 8:
          this.afi = this.varint32();
          break;
        case 9:
          this.safi = this.varint32();
          break;
        case 11:
          this.prefixLength = this.varint32();
          break;
        case 12:
          this.pathId = this.varint32();
          break;
        default:
          // 2 (observed time) and 6 (source): not needed by the RIB.
          this.skipVarint();
      }
      if (this.bad) return false;
      // Enums above 2^31 are negative int32 in protobuf-es (10-byte varints): not ours, let fromBinary say.
      if (this.ribType > 0x7fffffff || this.action > 0x7fffffff || this.afi > 0x7fffffff) return false;
      if (this.safi > 0x7fffffff) return false;
    }
    this.attributesStart = this.end;
    return true;
  }
}

let input: Uint8Array = new Uint8Array(0);
let p = 0;

/** A minimal varint of at most 5 bytes below 2^32 at `p` (before `limit`), or -1. */
function varint(limit: number): number {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (p >= limit) return -1;
    const b = input[p++]!;
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      // Minimal: no trailing zero byte after the first.
      if (i > 0 && b === 0) return -1;
      return result <= 0xffffffff ? result : -1;
    }
  }
  return -1;
}

/** A non-empty packed run of such varints. */
function packed(limit: number): boolean {
  const length = varint(limit);
  if (length <= 0 || p + length > limit) return false;
  const stop = p + length;
  while (p < stop) if (varint(stop) < 0) return false;
  return true;
}

/**
 * The origin AS of an attribute tail (RouteUpdate fields 13-22 in `bytes[start, end)`) when the tail is the
 * canonical encoding of its values — exactly what `encodeRouteAttributes` (and `toBinary`) would write for them:
 * fields in number order (13 and 17 repeated back to back), minimal varints, proto3 defaults left out, repeated
 * scalars packed and non-empty, booleans as 1, enums below 2^31, nothing unknown. -1 otherwise (the caller then
 * decodes it with `fromBinary`, which also reports a malformed one). The RIB interns attribute sets by these
 * bytes, so only canonical ones may be taken as they are; checking costs no allocation, unlike decoding and
 * re-encoding.
 */
export function canonicalAttributesOrigin(bytes: Uint8Array, start: number, end: number): number {
  input = bytes;
  p = start;
  let last = 0;
  let originAs = 0;
  let ok = true;
  while (p < end && ok) {
    const tag = varint(end);
    if (tag < 0) return -1;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field < 13 || field > 22 || field < last || (field === last && field !== 13 && field !== 17))
      return -1;
    last = field;
    switch (field) {
      case 13: {
        if (wire !== 2) return -1;
        const length = varint(end);
        if (length < 0 || p + length > end) return -1;
        const stop = p + length;
        if (p < stop && bytes[p] === 0x08) {
          p++;
          const type = varint(stop);
          if (type <= 0 || type > 0x7fffffff) return -1;
        }
        if (p < stop) {
          if (bytes[p] !== 0x12) return -1;
          p++;
          if (!packed(stop)) return -1;
        }
        ok = p === stop;
        break;
      }
      case 14:
        if (wire !== 0) return -1;
        originAs = varint(end);
        ok = originAs > 0;
        break;
      case 15: {
        if (wire !== 2) return -1;
        const length = varint(end);
        ok = length > 0 && p + length <= end;
        p += length;
        break;
      }
      case 16:
        ok = wire === 2 && packed(end);
        break;
      case 17: {
        if (wire !== 2) return -1;
        const length = varint(end);
        if (length < 0 || p + length > end) return -1;
        const stop = p + length;
        let previous = 0;
        while (p < stop && ok) {
          const inner = varint(stop);
          const number = inner >>> 3;
          ok = inner >= 0 && (inner & 7) === 0 && number > previous && number <= 3 && varint(stop) > 0;
          previous = number;
        }
        ok = ok && p === stop;
        break;
      }
      case 18: {
        if (wire !== 2) return -1;
        const length = varint(end);
        ok = length > 0 && length % 8 === 0 && p + length <= end;
        p += length;
        break;
      }
      case 19:
      case 20:
        ok = wire === 0 && varint(end) >= 0;
        break;
      case 21: {
        if (wire !== 0) return -1;
        const origin = varint(end);
        ok = origin > 0 && origin <= 0x7fffffff;
        break;
      }
      case 22:
        ok = wire === 0 && p < end && bytes[p++] === 1;
        break;
    }
  }
  return ok && p === end ? originAs : -1;
}
