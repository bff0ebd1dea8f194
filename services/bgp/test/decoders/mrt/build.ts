/** Builders of MRT records for the tests (RFC 6396). */

import { AS_SEQUENCE } from '../../../src/decoders/bgp/index.ts';
import { asPath, nextHop, origin, prefix4, u16, u32, update } from '../bgp/build.ts';

export function mrtRecord(
  type: number,
  subtype: number,
  body: Uint8Array,
  timestamp = 1_700_000_000,
): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32BE(timestamp, 0);
  header.writeUInt16BE(type, 4);
  header.writeUInt16BE(subtype, 6);
  header.writeUInt32BE(body.length, 8);
  return Buffer.concat([header, body]);
}

/** BGP4MP MESSAGE_AS4 (type 16 subtype 4) from an IPv4 peer carrying `message`. */
export function bgp4mpMessageAs4(message: Buffer, peerAs = 65001, timestamp?: number): Buffer {
  const peering = [...u32(peerAs), ...u32(65000), ...u16(0), ...u16(1), 192, 0, 2, 1, 192, 0, 2, 254];
  return mrtRecord(16, 4, Buffer.concat([Buffer.from(peering), message]), timestamp);
}

/** A stream of `count` BGP4MP records, each announcing one /24 from 10.0.0.0 upwards. */
export function syntheticUpdates(count: number): Buffer {
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const attributes = [
      ...origin(0),
      ...asPath([[AS_SEQUENCE, [65001, 64500 + (i % 100)]]], 4),
      ...nextHop([192, 0, 2, 1]),
    ];
    const nlri = prefix4([10, (i >>> 8) & 0xff, i & 0xff, 0], 24);
    records.push(bgp4mpMessageAs4(update([], attributes, nlri), 65001, 1_700_000_000 + i));
  }
  return Buffer.concat(records);
}
