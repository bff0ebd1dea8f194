/**
 * Seeds for the fuzzers: raw MRT records and BGP messages taken from the captures (when present) plus
 * hand-built ones, so the fuzz tests run (with fewer shapes) without the captures.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { captureFiles, capturesRoot } from '@kansoku/kit/testing/captures';

import { AS_SEQUENCE, AS_SET } from '../../../src/decoders/bgp/index.ts';
import {
  asPath,
  attribute,
  ipv6,
  nextHop,
  OPTIONAL,
  OPTIONAL_TRANSITIVE,
  origin,
  prefix4,
  u16,
  u32,
  update,
} from '../bgp/build.ts';
import { bgp4mpMessageAs4, mrtRecord } from './build.ts';

/** Hand-built UPDATEs covering every attribute the parser decodes. */
export function handBuiltUpdates(): Buffer[] {
  const common = [...origin(0), ...asPath([[AS_SEQUENCE, [65001, 65002]]], 4), ...nextHop([192, 0, 2, 1])];
  const mpReach = attribute(OPTIONAL, 14, [
    ...u16(2),
    1,
    32,
    ...ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
    ...ipv6([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
    0,
    48,
    ...ipv6([0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0]).slice(0, 6),
  ]);
  return [
    update(prefix4([10, 1, 0, 0], 16), common, [
      ...prefix4([203, 0, 113, 0], 24),
      ...prefix4([198, 51, 0, 0], 16),
    ]),
    update(
      [],
      [
        ...common,
        ...attribute(OPTIONAL, 4, u32(5)),
        ...attribute(0x40, 5, u32(100)),
        ...attribute(0x40, 6, []),
        ...attribute(OPTIONAL_TRANSITIVE, 7, [...u32(65010), 1, 2, 3, 4]),
        ...attribute(OPTIONAL_TRANSITIVE, 8, [...u32(1), ...u32(2)]),
        ...attribute(OPTIONAL, 9, [1, 1, 1, 1]),
        ...attribute(OPTIONAL, 10, [2, 2, 2, 2]),
        ...attribute(OPTIONAL_TRANSITIVE, 16, [0, 2, 0, 1, 0, 0, 0, 1]),
        ...attribute(OPTIONAL_TRANSITIVE, 32, [...u32(1), ...u32(2), ...u32(3)]),
        ...attribute(OPTIONAL_TRANSITIVE, 99, [9, 9]),
      ],
      prefix4([203, 0, 113, 0], 24),
    ),
    update([], [...origin(1), ...asPath([[AS_SEQUENCE, [65001]]], 4), ...mpReach], []),
    update(
      [],
      attribute(OPTIONAL, 15, [...u16(2), 1, 64, ...ipv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0]).slice(0, 8)]),
      [],
    ),
    update(
      [],
      [
        ...origin(0),
        ...asPath(
          [
            [AS_SEQUENCE, [65001, 23456]],
            [AS_SET, [23456, 3]],
          ],
          2,
        ),
        ...nextHop([192, 0, 2, 1]),
        ...asPath([[AS_SEQUENCE, [4200000001]]], 4, 17),
        ...attribute(OPTIONAL_TRANSITIVE, 7, [...u16(23456), 1, 2, 3, 4]),
        ...attribute(OPTIONAL_TRANSITIVE, 18, [...u32(4200000001), 1, 2, 3, 4]),
      ],
      prefix4([203, 0, 113, 0], 24, 3),
    ),
  ];
}

function gunzipCapture(name: string): Buffer | undefined {
  if (!captureFiles('mrt', /./).includes(name)) return undefined;
  return gunzipSync(readFileSync(join(capturesRoot(), 'mrt', name)));
}

/** The first `limit` raw records (header included) of an uncompressed MRT buffer, framed by declared length. */
function rawRecords(data: Buffer, limit: number, extra = 0): Buffer[] {
  const records: Buffer[] = [];
  let at = 0;
  while (at + 12 <= data.length && records.length < limit) {
    const end = at + 12 + data.readUInt32BE(at + 8) + extra;
    records.push(data.subarray(at, end));
    at = end;
  }
  return records;
}

/** Raw MRT records of every kind the reader decodes. */
export function mrtSeeds(): Buffer[] {
  const seeds = handBuiltUpdates().map((message, i) => bgp4mpMessageAs4(message, 65001 + i));
  seeds.push(
    mrtRecord(
      16,
      5,
      Buffer.from([...u32(65001), ...u32(65000), 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 6]),
    ),
  );
  for (const name of [
    'bview.ipv4_unicast_add_path.gz',
    'bview.ipv6_unicast_add_path.gz',
    'updates.long_withdrawal.gz',
    'updates.nlri_mask_trailing_bits.gz',
  ]) {
    const data = gunzipCapture(name);
    if (!data) continue;
    const records = rawRecords(data, 6);
    seeds.push(...records);
    // RIB records only decode after their peer index table: also fuzz the table and its RIBs as one input.
    seeds.push(Buffer.concat(records));
  }
  // A peer index table followed by a RIB record: the RIB needs the table, so they are fuzzed as a pair.
  const sixtyFour = gunzipCapture('bview.64k_stream_overflow.gz');
  if (sixtyFour) seeds.push(sixtyFour.subarray(0, 12 + sixtyFour.readUInt32BE(8) + 2000));
  const updates = gunzipCapture('updates.20160811.1600.gz');
  if (updates) seeds.push(...rawRecords(updates, 40));
  const bview = gunzipCapture('bview.20020722.2337.gz');
  if (bview) seeds.push(...rawRecords(bview, 10));
  const quirk = gunzipCapture('rrc00__2000.01__bview.20000111.0032.gz');
  if (quirk) seeds.push(...rawRecords(quirk, 2, 4).map((record) => record.subarray(0, 1200)));
  const legacy = gunzipCapture('rrc00__1999.09__updates.19990903.1041.gz');
  if (legacy) seeds.push(...rawRecords(legacy, 40));
  return seeds;
}

/** BGP messages (header included) from the seeds' BGP4MP MESSAGE_AS4 records, plus the hand-built ones. */
export function updateSeeds(): Buffer[] {
  const seeds = handBuiltUpdates();
  const updates = gunzipCapture('updates.20160811.1600.gz');
  if (updates) {
    for (const record of rawRecords(updates, 400)) {
      if (record.readUInt16BE(4) !== 16 || record.readUInt16BE(6) !== 4) continue;
      const afi = record.readUInt16BE(12 + 10);
      const message = record.subarray(12 + 12 + (afi === 2 ? 32 : 8));
      if (message[18] === 2) seeds.push(message);
    }
  }
  return seeds;
}
