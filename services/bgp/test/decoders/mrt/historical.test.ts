/**
 * The two historical RIPE RIS rrc00 files (see SOURCES.md beside the captures) parse without error.
 *
 * - `rrc00__2000.01__bview.20000111.0032.gz`: TABLE_DUMP records that batch many entries after one view and
 *   sequence pair, each declared four bytes shorter than written. Trusting the length loses sync after the
 *   first record; the reader walks the entries and takes the four bytes back (reader.ts). The counts below
 *   were verified by walking the file independently (2490 records whose entries end exactly at declared
 *   length + 4; 452,018 entries in all). bgpdump reads only the first entry, so there is no line oracle.
 * - `rrc00__1999.09__updates.19990903.1041.gz`: the deprecated MRT type 5 (BGP) of RFC 6396 appendix B: the
 *   subtype is the BGP message type, the peering header has no interface index or AFI, and the BGP message
 *   comes without its 19-octet header (records.ts).
 */

import { join } from 'node:path';

import { captureFiles, capturesRoot } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';

import { originAs } from '../../../src/decoders/bgp/index.ts';
import { formatBgpdumpLines, readMrt } from '../../../src/decoders/mrt/index.ts';

const folder = join(capturesRoot(), 'mrt');
const present = captureFiles('mrt', /^rrc00__/);
const BVIEW = 'rrc00__2000.01__bview.20000111.0032.gz';
const UPDATES = 'rrc00__1999.09__updates.19990903.1041.gz';

describe.skipIf(!present.includes(BVIEW))('rrc00 bview of 2000 (TABLE_DUMP length quirk)', () => {
  if (!present.includes(BVIEW)) console.warn(`skipped: ${BVIEW} not in ${folder}`);

  it('reads every batched entry of every record', async () => {
    let records = 0;
    let corrected = 0;
    let entries = 0;
    let attributeErrors = 0;
    const peers = new Set<string>();
    let first: string | undefined;
    for await (const record of readMrt(join(folder, BVIEW))) {
      expect(record.kind, record.kind === 'malformed' ? record.error.message : '').toBe('table-dump');
      if (record.kind !== 'table-dump') continue;
      records++;
      if (record.lengthCorrection === 4) corrected++;
      entries += record.entries.length;
      for (const entry of record.entries) {
        attributeErrors += entry.attributes.errors.length;
        peers.add(`${entry.peer.address.join('.')} AS${entry.peer.asn}`);
        expect(originAs(entry.attributes.asPath) ?? 0).toBeGreaterThanOrEqual(0);
      }
      first ??= formatBgpdumpLines(record)[0];
    }
    expect({ records, corrected, entries, attributeErrors }).toEqual({
      records: 2490,
      corrected: 2490,
      entries: 452018,
      attributeErrors: 0,
    });
    expect(peers.size).toBeGreaterThan(1);
    expect(first).toBe(
      'TABLE_DUMP|947550744|B|204.152.166.29|3549|3.0.0.0/8|3549 701 80|IGP|204.152.166.29|0|0||NAG||',
    );
  }, 120_000);
});

describe.skipIf(!present.includes(UPDATES))('rrc00 updates of 1999 (deprecated MRT type 5)', () => {
  if (!present.includes(UPDATES)) console.warn(`skipped: ${UPDATES} not in ${folder}`);

  it('decodes its state changes, OPEN, KEEPALIVEs and UPDATEs', async () => {
    const kinds: Record<string, number> = {};
    const messages: Record<string, number> = {};
    let lines = 0;
    let attributeErrors = 0;
    const states: string[] = [];
    for await (const record of readMrt(join(folder, UPDATES))) {
      expect(record.kind, record.kind === 'malformed' ? record.error.message : '').not.toBe('malformed');
      expect(record.header.type).toBe(5);
      kinds[record.kind] = (kinds[record.kind] ?? 0) + 1;
      if (record.kind === 'bgp4mp-message') {
        messages[record.message.type] = (messages[record.message.type] ?? 0) + 1;
        if (record.message.type === 'update') attributeErrors += record.message.attributes.errors.length;
      }
      if (record.kind === 'bgp4mp-state-change') states.push(`${record.oldState}>${record.newState}`);
      lines += formatBgpdumpLines(record).length;
    }
    expect(kinds).toEqual({ 'bgp4mp-state-change': 4, 'bgp4mp-message': 24238 });
    expect(messages).toEqual({ open: 1, keepalive: 21, update: 24216 });
    expect(states[0]).toBe('1>2');
    expect(attributeErrors).toBe(0);
    expect(lines).toBe(65315);
  }, 120_000);
});
