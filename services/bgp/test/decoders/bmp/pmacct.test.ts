/**
 * Our BMP decoding against pmacct's (nfacctd/pmbmpd JSON output of the same captures, shipped beside them):
 * peer up, peer down, statistics, announcements with their attributes, withdrawals and End-of-RIB markers of
 * the families the BGP parser decodes must match on every field both have. Deviations are explained where
 * they are filtered, never by loosening a comparison.
 */

import { describe, expect, it } from 'vitest';
import { type BmpMessage, createBmpSession, parseBmpMessage } from '../../../src/decoders/bmp/index.ts';
import { captureFiles, haveCaptures, missingCapturesMessage, readBmpStreams } from './captures.ts';
import { ourComparable, pmacctComparable, readPmacctOutput } from './pmacct.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

const cases = [
  ...new Set(
    captureFiles(/__output-bmp-00\.json$/).map((name) => name.replace(/__output-bmp-00\.json$/, '')),
  ),
];

/** Our messages of each router of a case, keyed by the router's sysName (pmacct's router addresses are those
 * of its replay, not of the capture). */
async function ourRouters(caseName: string): Promise<Map<string, BmpMessage[]>> {
  const routers = new Map<string, BmpMessage[]>();
  for (const file of captureFiles(new RegExp(`^${caseName}__traffic-\\d+\\.pcap$`))) {
    for (const stream of await readBmpStreams(file)) {
      const session = createBmpSession();
      const messages = stream.messages.map((message) => parseBmpMessage(message, session));
      const init = messages.find((message) => message.type === 'initiation');
      routers.set(init?.information.sysName ?? file, messages);
    }
  }
  return routers;
}

describe.skipIf(!haveCaptures)('BMP against pmacct', () => {
  it('has the four pmacct cases', () => {
    expect(cases).toHaveLength(4);
  });

  for (const caseName of cases) {
    it(`matches pmacct on ${caseName}`, async () => {
      const records = readPmacctOutput(caseName);
      const routers = await ourRouters(caseName);
      const pmacctRouters = new Map<string, string>();
      for (const record of records) {
        if (record.bmp_msg_type === 'init') {
          pmacctRouters.set(String(record.bmp_init_info_sysname), String(record.bmp_router));
        }
      }
      expect([...routers.keys()].sort()).toEqual([...pmacctRouters.keys()].sort());
      for (const [sysName, messages] of routers) {
        const ours = ourComparable(messages);
        const theirs = pmacctComparable(records, pmacctRouters.get(sysName)!);
        expect(ours.peerUp, `${sysName} peer up`).toEqual(theirs.peerUp);
        expect(ours.peerDown, `${sysName} peer down`).toEqual(theirs.peerDown);
        expect(ours.stats, `${sysName} stats`).toEqual(theirs.stats);
        expect(ours.announce, `${sysName} announcements`).toEqual(theirs.announce);
        expect(ours.withdraw, `${sysName} withdrawals`).toEqual(theirs.withdraw);
        expect(ours.endOfRib, `${sysName} End-of-RIB`).toEqual(theirs.endOfRib);
        // Withdrawals of routes never announced, which pmacct does not log (see ourComparable).
        const unknown = ours.withdrawnUnknown.map((line) => JSON.parse(line).ip_prefix as string);
        expect(unknown, `${sysName} withdrawals of unknown routes`).toEqual(
          caseName.startsWith('204-') ? ['192.0.2.11/32', '192.0.2.73/32'] : [],
        );
      }
    });
  }
});
