/**
 * Conformance with bgpdump: for every MRT capture with bgpdump's expected output beside it (`<file>.bgp.gz`,
 * what `bgpdump -m` prints), our records formatted the same way give the same lines, all of them and in order;
 * and the routes by prefix length per address family (the report's Table 1) agree.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { captureFiles, capturesRoot } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';

import { formatBgpdumpLines, type MrtRecord, readMrt } from '../../../src/decoders/mrt/index.ts';

const folder = join(capturesRoot(), 'mrt');
const files = captureFiles('mrt', /\.bgp\.gz$/).map((name) => name.replace(/\.bgp\.gz$/, ''));

/** Lines per file, checked against the expected files once (so a silent change in a capture shows). */
const EXPECTED_LINES: Record<string, number> = {
  'bview.20020722.2337.gz': 115521,
  'bview.64k_stream_overflow.gz': 23,
  'bview.ipv4_unicast_add_path.gz': 62,
  'bview.ipv6_unicast_add_path.gz': 62,
  'updates.20160811.1600.gz': 41234,
  'updates.long_withdrawal.gz': 4096,
  'updates.nlri_mask_trailing_bits.gz': 1,
};

/** `v4/24` → count, for announced (B and A) lines. */
function prefixLengths(lines: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const fields = line.split('|');
    if (fields[2] !== 'B' && fields[2] !== 'A') continue;
    const [address, length] = fields[5]!.split('/');
    const key = `${address!.includes(':') ? 'v6' : 'v4'}/${length}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The same table from our decoded records (not from our formatted text). */
function prefixLengthsOfRecords(records: MrtRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (afi: number, length: number, times: number): void => {
    const key = `${afi === 2 ? 'v6' : 'v4'}/${length}`;
    counts.set(key, (counts.get(key) ?? 0) + times);
  };
  for (const record of records) {
    if (record.kind === 'table-dump')
      for (const entry of record.entries) add(entry.prefix.afi, entry.prefix.length, 1);
    else if (record.kind === 'rib') add(record.afi, record.prefix.length, record.entries.length);
    else if (record.kind === 'bgp4mp-message' && record.message.type === 'update') {
      for (const prefix of record.message.nlri) add(prefix.afi, prefix.length, 1);
      for (const prefix of record.message.attributes.mpReach?.nlri ?? []) add(prefix.afi, prefix.length, 1);
    }
  }
  return counts;
}

describe.skipIf(files.length === 0)('MRT captures against bgpdump -m', () => {
  if (files.length === 0) console.warn(`skipped: no MRT captures with bgpdump output in ${folder}`);

  it.each(files)(
    '%s: every line equals bgpdump, and routes by prefix length agree',
    async (file) => {
      const expected = gunzipSync(readFileSync(join(folder, `${file}.bgp.gz`)))
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '');
      const records: MrtRecord[] = [];
      const ours: string[] = [];
      for await (const record of readMrt(join(folder, file))) {
        expect(record.kind, record.kind === 'malformed' ? record.error.message : '').not.toBe('malformed');
        records.push(record);
        ours.push(...formatBgpdumpLines(record));
      }
      let firstDifference = -1;
      let matched = 0;
      for (let i = 0; i < Math.max(ours.length, expected.length); i++) {
        if (ours[i] === expected[i]) matched++;
        else if (firstDifference < 0) firstDifference = i;
      }
      console.info(`${file}: ${matched} of ${expected.length} bgpdump lines matched (${ours.length} ours)`);
      if (firstDifference >= 0) {
        expect({ line: firstDifference, ours: ours[firstDifference] }).toEqual({
          line: firstDifference,
          ours: expected[firstDifference],
        });
      }
      expect(ours.length).toBe(expected.length);
      if (EXPECTED_LINES[file] !== undefined) expect(expected.length).toBe(EXPECTED_LINES[file]);
      expect(prefixLengthsOfRecords(records)).toEqual(prefixLengths(expected));
    },
    120_000,
  );
});
