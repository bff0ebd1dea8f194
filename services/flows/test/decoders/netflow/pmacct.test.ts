/**
 * pmacct as an oracle: for each of its NetFlow/IPFIX test cases (`NNN-…__traffic-*.pcap` with
 * `NNN-…__output-flow-00.json`), our records must say what nfacctd printed, on every field both have:
 * source and destination address, ports, protocol, input and output interface, prefix lengths (where its
 * configuration prints them), flow start and end (where it prints them), TCP flags, and packets and bytes after
 * sampling (pmacct renormalises by the sampling rate from options data, as we do: case 104 samples 1 in 256).
 *
 * Compared like with like, and nothing else loosened:
 * - pmacct aggregates: records with equal primitives become one line with summed packets and bytes and OR-ed
 *   TCP flags (case 110's third exporter folds ACK and ACK|PSH records together). Both sides are summed over
 *   the shared fields before comparing.
 * - pmacct's harness replays each capture from another address (138.187.0.13 appears as 172.21.1.101), so
 *   exporters are matched by their records: the mapping must be one-to-one and cover every exporter.
 * - Fields only pmacct has (tos, MPLS labels, VRF names and ids, forwarding status, labels) and fields only we
 *   have (AS numbers — pmacct's configuration does not print them —, next hop, VLANs, direction) are not
 *   compared here; tshark checks AS numbers, VLANs and times (tshark.test.ts).
 * - Case 112 has data sets whose templates are not in the capture (341, 313, 348, 342); pmacct prints nothing
 *   for them and we hold them, so the four sets stay pending: that is asserted, not ignored.
 */

import { describe, expect, it } from 'vitest';
import { createNetflowDecoder } from '../../../src/decoders/netflow/index.ts';
import { captureFiles, haveCaptures, missingCapturesMessage, readExportPackets } from './captures.ts';
import { aggregate, ourRow, readPmacctCase } from './pmacct.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

const cases = captureFiles(/^\d{3}-.*__output-flow-00\.json$/).map((json) => {
  const name = json.replace(/__output-flow-00\.json$/, '');
  const traffic = captureFiles(/__traffic-\d+\.pcap$/).filter((file) => file.startsWith(`${name}__`));
  return { name, traffic };
});

/** Held data sets left at the end, by case: data whose template the capture does not contain. */
const EXPECTED_PENDING: Readonly<Record<string, number>> = {
  '112-IPFIXv10-CISCO-options-map-reassignment': 4,
};

describe.skipIf(!haveCaptures)(
  `pmacct agrees with our decoding${haveCaptures ? '' : ` (${missingCapturesMessage})`}`,
  () => {
    it('finds the pmacct cases', () => {
      expect(cases.length).toBeGreaterThanOrEqual(6);
      for (const { traffic } of cases) expect(traffic.length).toBeGreaterThan(0);
    });

    it.each(cases)('$name', async ({ name, traffic }) => {
      const expected = readPmacctCase(name);
      const decoder = createNetflowDecoder();
      const records = [];
      for (const file of traffic) {
        for (const packet of await readExportPackets(file)) {
          records.push(...decoder.decode(packet.payload, packet.exporter, packet.receivedNs));
        }
      }
      const stats = decoder.stats();
      expect(stats.totals.decodeErrors).toEqual({});
      expect(stats.exporters.reduce((sum, e) => sum + e.pendingSets, 0)).toBe(EXPECTED_PENDING[name] ?? 0);
      expect(records.length).toBeGreaterThanOrEqual(expected.rows.length);

      const ours = aggregate(records.map((record) => ourRow(record, expected)));
      const theirs = aggregate(expected.rows);
      // Match each of our exporters to the pmacct peer that printed the same flows.
      const mapping = new Map<string, string>();
      for (const [exporter, flows] of ours) {
        let best: string | undefined;
        let bestOverlap = 0;
        for (const [peer, peerFlows] of theirs) {
          const overlap = [...flows.keys()].filter((key) => peerFlows.has(key)).length;
          if (overlap > bestOverlap) {
            best = peer;
            bestOverlap = overlap;
          }
        }
        expect(best, `a pmacct peer for exporter ${exporter}`).toBeDefined();
        mapping.set(exporter, best!);
      }
      expect(new Set(mapping.values()).size, 'one pmacct peer per exporter').toBe(mapping.size);
      expect([...mapping.values()].sort()).toEqual([...theirs.keys()].sort());

      for (const [exporter, peer] of mapping) {
        const mine = Object.fromEntries([...ours.get(exporter)!].sort());
        const pmacct = Object.fromEntries([...theirs.get(peer)!].sort());
        expect(mine, `${exporter} (pmacct's ${peer})`).toEqual(pmacct);
      }
    });
  },
);
