/**
 * `kansoku.bgp.v2.RouteUpdateBatch` (topic `kansoku.bgp.updates.v2`) from and to RouteUpdates already in wire
 * form. The BMP station writes each route's RouteUpdate bytes itself (services/bgp: one encoding of an UPDATE's
 * attributes shared by its prefixes) and the processor reads each route in place, so the batch is only framing:
 * field 1, length, the route's bytes. `encodeRouteUpdateBatch` of `toBinary` outputs is exactly
 * `toBinary(RouteUpdateBatchSchema, …)` of those routes (tests hold it to that); `forEachRouteUpdate` visits the
 * routes `fromBinary(RouteUpdateBatchSchema, …)` would give, as byte ranges of the batch.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { RouteUpdateSchema } from './gen/kansoku/bgp/v1/bgp_pb.ts';
import { RouteUpdateBatchSchema } from './gen/kansoku/bgp/v2/bgp_pb.ts';

/** Tag of field 1, length-delimited. */
const UPDATES_TAG = 0x0a;

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value >>>= 7;
    size++;
  }
  return size;
}

/** The batch of these RouteUpdate encodings, in order (one fresh buffer). */
export function encodeRouteUpdateBatch(updates: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const update of updates) size += 1 + varintSize(update.length) + update.length;
  const out = new Uint8Array(size);
  let p = 0;
  for (const update of updates) {
    out[p++] = UPDATES_TAG;
    let v = update.length;
    while (v > 0x7f) {
      out[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[p++] = v;
    out.set(update, p);
    p += update.length;
  }
  return out;
}

/**
 * Calls `visit` with each RouteUpdate of the batch as a range of `bytes` (or, for a batch written some other
 * valid way, of a re-encoding), in order; returns how many. Throws what `fromBinary` throws on a malformed batch,
 * before visiting anything.
 */
export function forEachRouteUpdate(
  batch: Uint8Array,
  visit: (bytes: Uint8Array, start: number, end: number) => void,
): number {
  const length = batch.length;
  // First pass: the framing is ours (field 1 only, lengths in range); otherwise fromBinary decides.
  let p = 0;
  let count = 0;
  while (p < length) {
    if (batch[p] !== UPDATES_TAG) return generic(batch, visit);
    p++;
    let size = 0;
    let shift = 0;
    for (;;) {
      if (p >= length || shift > 28) return generic(batch, visit);
      const b = batch[p++]!;
      size += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (p + size > length) return generic(batch, visit);
    p += size;
    count++;
  }
  p = 0;
  while (p < length) {
    p++;
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = batch[p++]!;
      size += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    visit(batch, p, p + size);
    p += size;
  }
  return count;
}

function generic(batch: Uint8Array, visit: (bytes: Uint8Array, start: number, end: number) => void): number {
  const { updates } = fromBinary(RouteUpdateBatchSchema, batch);
  for (const update of updates) {
    const bytes = toBinary(RouteUpdateSchema, update);
    visit(bytes, 0, bytes.length);
  }
  return updates.length;
}
