/**
 * Loads an MRT file straight into a RIB (no Kafka): TABLE_DUMP_V2 / TABLE_DUMP entries are announcements,
 * BGP4MP updates are applied in order and a session leaving Established is a Peer Down. Records get receive
 * times 100 ms apart (the RIB's receive-time resolution), so the file's order is kept by the Peer Down rule. Used by tests, benchmarks
 * and anyone who wants IP → origin AS from a RIB dump.
 */

import { PeerEventType } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { readMrt } from '../decoders/mrt/reader.ts';
import {
  bgp4mpStateEvent,
  bgp4mpUpdates,
  type MrtMappingContext,
  PeerCache,
  ribRecordUpdates,
  tableDumpUpdates,
} from '../replay/mrt-mapping.ts';
import { peerIdentityOf, type Rib } from './rib.ts';

export interface MrtLoadSummary {
  records: number;
  applied: number;
  ignored: number;
  peerDowns: number;
}

export async function loadRibFromMrt(rib: Rib, file: string, startMs = Date.now()): Promise<MrtLoadSummary> {
  const summary: MrtLoadSummary = { records: 0, applied: 0, ignored: 0, peerDowns: 0 };
  const peers = new PeerCache();
  let tick = BigInt(startMs) * 1_000_000n;
  const context: MrtMappingContext = { timeReceivedNs: tick, routerAddress: new Uint8Array(0) };
  for await (const record of readMrt(file)) {
    summary.records++;
    tick += 100_000_000n;
    context.timeReceivedNs = tick;
    let updates: ReturnType<typeof ribRecordUpdates>['updates'] = [];
    if (record.kind === 'peer-index-table') context.collectorBgpId = record.collectorBgpId;
    else if (record.kind === 'rib') updates = ribRecordUpdates(record, context, peers).updates;
    else if (record.kind === 'table-dump') updates = tableDumpUpdates(record, context, peers).updates;
    else if (record.kind === 'bgp4mp-message') updates = bgp4mpUpdates(record, context, peers).updates;
    else if (record.kind === 'bgp4mp-state-change') {
      const event = bgp4mpStateEvent(record, context, peers);
      if (event?.type === PeerEventType.DOWN) {
        rib.peerDown(
          peerIdentityOf(event.routerAddress, event.peer),
          Number(event.timeReceivedNs / 1_000_000n),
        );
        summary.peerDowns++;
      }
    }
    for (const update of updates) {
      if (rib.applyUpdate(update)) summary.applied++;
      else summary.ignored++;
    }
  }
  return summary;
}
