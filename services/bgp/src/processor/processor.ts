/**
 * bgp-processor: keeps the live RIB from `kansoku.bgp.updates.v2` and `kansoku.bgp.peers.v1` and writes what the
 * NOC reads over time (tables.ts): routes by prefix length per family per peer every minute, update/withdraw
 * rates, the peer timeline and state, and the current origin AS of every prefix. The RIB also answers
 * IP → origin AS (in process and over NATS) and feeds the detectors.
 *
 * Restart: the RIB is saved to `stateFile` every `snapshotIntervalMs` together with the next offset of every
 * partition it includes, and only then are those offsets committed. A restart loads the snapshot and resumes the
 * group from its committed offsets, which are never past the snapshot: messages between the committed offset and
 * the snapshot's are applied again, which leaves the RIB as it was (an announcement replaces the same route, a
 * withdrawal removes it, a Peer Down drops what came before it: the last message per route decides). Without a
 * snapshot (first start, lost volume) a new group generation reads both topics from the beginning, rebuilding
 * what Kafka still holds. Replaying from Kafka alone was not chosen: the updates topic keeps 7 days and a route
 * announced once by a session that stays up for months would be lost.
 *
 * Exactly-once: snapshot rows (prefix lengths, peer state), peer events and origins are keyed tables
 * (ReplacingMergeTree), so rows written again after a crash replace themselves. Update-rate sums written after
 * the last snapshot and before a crash are counted again when their messages are replayed (at most one
 * `snapshotIntervalMs` of rates).
 */

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { forEachRouteUpdate } from '@kansoku/contracts';
import {
  PeerEventSchema,
  PeerEventType,
  RouteAction,
  type RouteUpdate,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  Counter,
  type DetectionEmitter,
  errorMessage,
  Gauge,
  type IncomingBatch,
  type KafkaConsumer,
  type Logger,
  type Registry,
  type Warehouse,
} from '@kansoku/kit';
import { type BgpDetectors, createBgpDetectors } from '../detection/detectors.ts';
import {
  type EncodedPeer,
  type Family,
  type PeerIdentity,
  type PeerSummary,
  peerIdentityOf,
  type Rib,
  type RibObserver,
} from '../rib/rib.ts';
import { RouteUpdateReader } from '../rib/route-update-reader.ts';
import {
  PEER_EVENTS_TABLE,
  PEER_STATE_TABLE,
  PREFIX_LENGTHS_1H_TABLE,
  PREFIX_LENGTHS_1M_TABLE,
  PREFIX_ORIGINS_TABLE,
  UPDATE_RATES_TABLE,
} from '../tables.ts';
import type { BgpProcessorConfig } from './config.ts';
import { PendingOrigins } from './pending-origins.ts';
import { encodeRibSnapshot, type PartitionOffset, readRibSnapshot, writeSnapshotFile } from './snapshot.ts';

export interface BgpProcessorDeps {
  /** Builds the consumer once the group is known (from the snapshot, or a new generation). */
  createConsumer(groupId: string): KafkaConsumer;
  warehouse: Warehouse;
  rib: Rib;
  log: Logger;
  metrics: Registry;
  /** Detections go here; absent: no detectors. */
  emitter?: DetectionEmitter;
  /** Time source (tests). */
  now?: () => number;
}

export interface BgpProcessor extends Component {
  /** Writes pending rows now (rates, events, origins). */
  flush(): Promise<void>;
  /** Writes routes by prefix length and peer state for the current minute. */
  writeSnapshotRows(): Promise<void>;
  /** Saves the RIB and commits the offsets it includes. */
  checkpoint(): Promise<void>;
  /** Messages applied since start (updates, peer events). */
  applied(): { updates: number; peerEvents: number };
  readonly detectors: BgpDetectors | undefined;
  /** The consumer group in use (known after start). */
  groupId(): string;
}

interface RateCell {
  time: number;
  router: string;
  peer: string;
  distinguisher: string;
  rib_type: number;
  afi: number;
  announcements: number;
  withdrawals: number;
}

const INSERT_CHUNK = 100_000;

let lastDateMs = Number.NaN;
let lastDateText = '';
/** `2026-11-25 03:04:05.678`; the last one is remembered (rows made in one turn share their millisecond). */
const dateTime64 = (ms: number): string => {
  if (ms !== lastDateMs) {
    lastDateText = new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    lastDateMs = ms;
  }
  return lastDateText;
};
const dateTime = (ms: number): string => dateTime64(Math.floor(ms / 1000) * 1000).slice(0, 19);

export function createBgpProcessor(config: BgpProcessorConfig, deps: BgpProcessorDeps): BgpProcessor {
  const { rib, warehouse, log } = deps;
  const now = deps.now ?? Date.now;
  const messages = new Counter({
    name: 'kansoku_bgp_processor_messages_total',
    help: 'Messages read by the BGP processor, by topic kind and outcome (applied, ignored, malformed)',
    labelNames: ['kind', 'outcome'],
    registers: [deps.metrics],
  });
  const routesGauge = new Gauge({
    name: 'kansoku_bgp_rib_routes',
    help: 'Routes in the live RIB (all peers)',
    registers: [deps.metrics],
    collect() {
      this.set(rib.routeCount());
    },
  });
  void routesGauge;
  const writes = new Counter({
    name: 'kansoku_bgp_processor_rows_total',
    help: 'Rows written by the BGP processor, by table',
    labelNames: ['table'],
    registers: [deps.metrics],
  });
  const checkpoints = new Counter({
    name: 'kansoku_bgp_processor_checkpoints_total',
    help: 'RIB snapshots written and offsets committed, by outcome',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });

  const detectors =
    deps.emitter === undefined
      ? undefined
      : createBgpDetectors(config.detection, { emitter: deps.emitter, rib });

  const rates = new Map<string, RateCell>();
  let peerEventRows: Record<string, unknown>[] = [];
  /** `afi|prefix/len` → row; the last change per prefix wins. */
  let originRows = new Map<string, Record<string, unknown>>();
  const sessions = new Map<
    string,
    {
      state: 'up' | 'down';
      asn: number;
      changedMs: number;
      router: string;
      peer: string;
      distinguisher: string;
    }
  >();
  const offsets = new Map<string, PartitionOffset>();
  let consumer: KafkaConsumer | undefined;
  let groupId = config.groupId;
  let flushTimer: NodeJS.Timeout | undefined;
  let rowsTimer: NodeJS.Timeout | undefined;
  let snapshotTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let updates = 0;
  let peerEvents = 0;

  /**
   * Origin changes of prefixes still in the RIB, by family and prefix id: (origin, ms). Their rows are made when
   * they are taken (once per prefix per flush, however often it changed). A prefix that leaves the RIB (its id
   * may then be reused) gets its row at once, in `originRows`; a later change of the same prefix replaces it
   * when taken (`takePending` writes the id entries last).
   */
  const originChanges = [new PendingOrigins(), new PendingOrigins()] as const;

  const originRow = (family: Family, prefixId: number, origin: number, present: number, ms: number) => {
    const table = family === 4 ? rib.prefixes4 : rib.prefixes6;
    const address = formatIpAddress(table.address(prefixId));
    const length = table.length(prefixId);
    return {
      key: `${family}|${address}/${length}`,
      row: {
        afi: family === 4 ? 1 : 2,
        prefix: address,
        prefix_length: length,
        origin_as: origin,
        present,
        updated: dateTime64(ms),
      },
    };
  };

  const originObserver: RibObserver = {
    onOriginChange(family: Family, prefixId, _previous, current) {
      const changes = originChanges[family === 4 ? 0 : 1];
      if ((family === 4 ? rib.prefixes4 : rib.prefixes6).routes(prefixId) > 0) {
        changes.set(prefixId, current, now());
        return;
      }
      // The prefix is about to leave the RIB: its row now, while its id still names it.
      changes.delete(prefixId);
      const { key, row } = originRow(family, prefixId, current, 0, now());
      originRows.set(key, row);
    },
    ...(detectors === undefined
      ? {}
      : { onAnnounce: (e) => detectors.onAnnounce(e), onPrefixGone: (e) => detectors.onPrefixGone(e) }),
  };

  const rateCell = (time: number, id: PeerIdentity, ribType: number, afi: number): RateCell => {
    const key = `${time}|${id.router}|${id.distinguisher}|${id.address}|${ribType}|${afi}`;
    let cell = rates.get(key);
    if (cell === undefined) {
      cell = {
        time,
        router: id.router,
        peer: id.address,
        distinguisher: id.distinguisher,
        rib_type: ribType,
        afi,
        announcements: 0,
        withdrawals: 0,
      };
      rates.set(key, cell);
    }
    return cell;
  };

  const countRate = (u: RouteUpdate) => {
    const time = Math.floor(Number(u.timeReceivedNs / 1_000_000_000n) / 60) * 60;
    const cell = rateCell(time, peerIdentityOf(u.routerAddress, u.peer), u.ribType, u.afi);
    if (u.action === RouteAction.ANNOUNCE) cell.announcements++;
    else cell.withdrawals++;
  };

  /** The cell of the last encoded update counted (consecutive updates of one peer share it). */
  let lastRate: { peer: EncodedPeer; time: number; ribType: number; afi: number; cell: RateCell } | undefined;

  const countRateRead = (r: RouteUpdateReader, peer: EncodedPeer) => {
    const time = Math.floor(Math.floor(r.receivedMs / 1000) / 60) * 60;
    let cell: RateCell;
    if (
      lastRate !== undefined &&
      lastRate.peer === peer &&
      lastRate.time === time &&
      lastRate.ribType === r.ribType &&
      lastRate.afi === r.afi
    ) {
      cell = lastRate.cell;
    } else {
      cell = rateCell(time, peer.identity, r.ribType, r.afi);
      lastRate = { peer, time, ribType: r.ribType, afi: r.afi, cell };
    }
    if (r.action === RouteAction.ANNOUNCE) cell.announcements++;
    else cell.withdrawals++;
  };

  const applyPeerEvent = (value: Uint8Array) => {
    const event = fromBinary(PeerEventSchema, value);
    const id = peerIdentityOf(event.routerAddress, event.peer);
    const timeMs = Number(event.timeReceivedNs / 1_000_000n);
    const key = `${id.router}|${id.distinguisher}|${id.address}`;
    let dropped = 0;
    let name = 'other';
    let reason = 0;
    let detail = '';
    if (event.type === PeerEventType.DOWN) {
      dropped = rib.peerDown(id, timeMs);
      name = 'down';
      if (event.detail.case === 'down') {
        reason = event.detail.value.reason;
        detail = JSON.stringify({
          notification_code: event.detail.value.notificationCode,
          notification_subcode: event.detail.value.notificationSubcode,
          fsm_event_code: event.detail.value.fsmEventCode,
        });
      }
      sessions.set(key, {
        state: 'down',
        asn: event.peer?.asn ?? 0,
        changedMs: timeMs,
        router: id.router,
        peer: id.address,
        distinguisher: id.distinguisher,
      });
    } else if (event.type === PeerEventType.UP) {
      name = 'up';
      if (event.detail.case === 'up') {
        const up = event.detail.value;
        detail = JSON.stringify({
          local_address: up.localAddress.length > 0 ? formatIpAddress(up.localAddress) : '',
          local_asn: up.localAsn,
          hold_time: up.holdTimeSeconds,
          four_octet_asn: up.fourOctetAsn,
          add_path: up.addPathFamilies.map((f) => `${f.afi}/${f.safi}`),
        });
      }
      sessions.set(key, {
        state: 'up',
        asn: event.peer?.asn ?? 0,
        changedMs: timeMs,
        router: id.router,
        peer: id.address,
        distinguisher: id.distinguisher,
      });
    } else if (event.type === PeerEventType.STATS) {
      name = 'stats';
      if (event.detail.case === 'stats') {
        detail = JSON.stringify(
          Object.fromEntries(
            event.detail.value.stats.map((s) => [
              s.family === undefined || s.family.afi === 0
                ? String(s.statType)
                : `${s.statType}:${s.family.afi}/${s.family.safi}`,
              Number(s.value),
            ]),
          ),
        );
      }
    }
    peerEventRows.push({
      time: dateTime64(timeMs),
      router: id.router,
      peer: id.address,
      distinguisher: id.distinguisher,
      peer_asn: event.peer?.asn ?? 0,
      event: name,
      reason,
      routes_dropped: dropped,
      detail,
    });
  };

  const reader = new RouteUpdateReader();

  /** One route of a RouteUpdateBatch (bytes[start, end)): counted in the rates, applied to the RIB. */
  const applyRoute = (bytes: Uint8Array, start: number, end: number): boolean => {
    // Rates count what the routers sent, including updates the RIB ignores as older than a Peer Down.
    if (reader.read(bytes, start, end)) {
      const peer = rib.peerOfRead(reader);
      // Applied first: a malformed attribute set throws before it is counted, as fromBinary would.
      const done = rib.applyRead(reader, peer);
      countRateRead(reader, peer);
      return done;
    }
    const update = fromBinary(RouteUpdateSchema, bytes.subarray(start, end));
    countRate(update);
    return rib.applyUpdate(update);
  };

  const onBatch = async (batch: IncomingBatch) => {
    const isUpdates = batch.topic === config.updatesTopic;
    let applied = 0;
    let ignored = 0;
    const visit = (bytes: Uint8Array, start: number, end: number) => {
      if (applyRoute(bytes, start, end)) applied++;
      else ignored++;
      updates++;
    };
    for (const message of batch.messages) {
      try {
        if (isUpdates) {
          forEachRouteUpdate(message.value, visit);
        } else {
          applyPeerEvent(message.value);
          messages.inc({ kind: 'peer', outcome: 'applied' });
          peerEvents++;
        }
      } catch (error) {
        messages.inc({ kind: isUpdates ? 'update' : 'peer', outcome: 'malformed' });
        log.debug(
          { err: errorMessage(error), topic: batch.topic, offset: String(message.offset) },
          'malformed message',
        );
      }
    }
    if (applied > 0) messages.inc({ kind: 'update', outcome: 'applied' }, applied);
    if (ignored > 0) messages.inc({ kind: 'update', outcome: 'ignored' }, ignored);
    const last = batch.messages.at(-1);
    if (last !== undefined) {
      offsets.set(`${batch.topic}|${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        next: String(last.offset + 1n),
      });
    }
  };

  const insert = async (table: string, rows: Record<string, unknown>[]) => {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await warehouse.insert(table, rows.slice(i, i + INSERT_CHUNK));
    }
    writes.inc({ table: table.replace('{{db}}.', '') }, rows.length);
  };

  /** Serialises writers (timers and stop) so rows and checkpoints never interleave. */
  const serial = (task: () => Promise<void>): Promise<void> => {
    const run = chain.then(task);
    chain = run.catch((error) => {
      log.warn({ err: errorMessage(error) }, 'bgp-processor write failed; retried at the next interval');
    });
    return run;
  };

  interface PendingRows {
    rateRows: RateCell[];
    events: Record<string, unknown>[];
    origins: Record<string, unknown>[];
  }

  /** Origin rows: those of prefixes that left, then (replacing them) those of prefixes in the RIB. */
  const takeOrigins = (): Record<string, unknown>[] => {
    for (const family of [4, 6] as const) {
      originChanges[family === 4 ? 0 : 1].take((prefixId, origin, ms) => {
        const { key, row } = originRow(family, prefixId, origin, 1, ms);
        originRows.set(key, row);
      });
    }
    return [...originRows.values()];
  };

  /** Takes the rows waiting to be written (synchronously: a consistent cut with the RIB and the offsets). */
  const takePending = (): PendingRows => {
    const pending = {
      rateRows: [...rates.values()],
      events: peerEventRows,
      origins: takeOrigins(),
    };
    rates.clear();
    lastRate = undefined;
    peerEventRows = [];
    originRows = new Map();
    return pending;
  };

  const writePending = async ({ rateRows, events, origins }: PendingRows) => {
    try {
      if (rateRows.length > 0)
        await insert(
          UPDATE_RATES_TABLE,
          rateRows.map((r) => ({ ...r })),
        );
      if (events.length > 0) await insert(PEER_EVENTS_TABLE, events);
      if (origins.length > 0) await insert(PREFIX_ORIGINS_TABLE, origins);
    } catch (error) {
      // Put back what may not be written; the next flush tries again (keyed tables make a repeat harmless).
      for (const r of rateRows) {
        const key = `${r.time}|${r.router}|${r.distinguisher}|${r.peer}|${r.rib_type}|${r.afi}`;
        const cell = rates.get(key);
        if (cell === undefined) rates.set(key, r);
        else {
          cell.announcements += r.announcements;
          cell.withdrawals += r.withdrawals;
        }
      }
      peerEventRows = [...events, ...peerEventRows];
      for (const row of origins) {
        const key = `${row.afi === 1 ? 4 : 6}|${String(row.prefix)}/${String(row.prefix_length)}`;
        if (!originRows.has(key)) originRows.set(key, row);
      }
      throw error;
    }
  };

  const flushNow = () => writePending(takePending());

  const snapshotRowsNow = async () => {
    const nowMs = now();
    const time = dateTime(Math.floor(nowMs / 60_000) * 60_000);
    const hour = dateTime(Math.floor(nowMs / 3_600_000) * 3_600_000);
    const rows: Record<string, unknown>[] = [];
    const hourRows: Record<string, unknown>[] = [];
    const push = (
      peer: { router: string; peer: string; distinguisher: string; asn: number; ribType: number },
      afi: number,
      counts: Uint32Array,
    ) => {
      counts.forEach((routes, length) => {
        if (routes === 0) return;
        const row = {
          router: peer.router,
          peer: peer.peer,
          distinguisher: peer.distinguisher,
          peer_asn: peer.asn,
          rib_type: peer.ribType,
          afi,
          prefix_length: length,
          routes,
        };
        rows.push({ time, ...row });
        hourRows.push({ time: hour, ...row });
      });
    };
    const summaries: PeerSummary[] = rib.peerSummaries();
    for (const s of summaries) {
      const p = {
        router: s.info.router,
        peer: s.info.address,
        distinguisher: s.info.distinguisher,
        asn: s.info.asn,
        ribType: s.info.ribType,
      };
      push(p, 1, s.lengths.ipv4);
      push(p, 2, s.lengths.ipv6);
    }
    // The whole RIB: distinct prefixes over every peer.
    const all = { router: '', peer: '', distinguisher: '', asn: 0, ribType: 0 };
    push(all, 1, rib.prefixes4.lengthCounts);
    push(all, 2, rib.prefixes6.lengthCounts);
    const stateRows = summaries.map((s) => {
      const session = sessions.get(`${s.info.router}|${s.info.distinguisher}|${s.info.address}`);
      return {
        time: dateTime(nowMs),
        router: s.info.router,
        peer: s.info.address,
        distinguisher: s.info.distinguisher,
        rib_type: s.info.ribType,
        peer_asn: s.info.asn || session?.asn || 0,
        state: session?.state ?? (s.routes.ipv4 + s.routes.ipv6 > 0 ? 'up' : 'unknown'),
        routes_ipv4: s.routes.ipv4,
        routes_ipv6: s.routes.ipv6,
        last_change: dateTime64(session?.changedMs ?? s.lastDownMs),
      };
    });
    if (rows.length > 0) {
      await insert(PREFIX_LENGTHS_1M_TABLE, rows);
      await insert(PREFIX_LENGTHS_1H_TABLE, hourRows);
    }
    if (stateRows.length > 0) await insert(PEER_STATE_TABLE, stateRows);
  };

  const checkpointNow = async () => {
    const started = now();
    // One synchronous cut: pending rows, offsets and the RIB all stand at the same message.
    const pending = takePending();
    const included = [...offsets.values()];
    const { chunks, routes } = encodeRibSnapshot(rib, { groupId, offsets: included });
    // Rows, then the file, then the commit: what a committed offset covers is always saved.
    await writePending(pending);
    await mkdir(dirname(config.stateFile), { recursive: true });
    await writeSnapshotFile(config.stateFile, chunks);
    if (consumer !== undefined) {
      for (const o of included) await consumer.commit(o.topic, o.partition, BigInt(o.next));
    }
    checkpoints.inc({ outcome: 'ok' });
    log.debug({ routes, ms: now() - started }, 'RIB snapshot written, offsets committed');
  };

  return {
    name: 'bgp-processor',
    detectors,
    applied: () => ({ updates, peerEvents }),
    groupId: () => groupId,
    flush: () => serial(flushNow),
    writeSnapshotRows: () => serial(snapshotRowsNow),
    checkpoint: () => serial(checkpointNow),
    async start() {
      const started = now();
      const snapshot = await readRibSnapshot(config.stateFile, rib);
      if (snapshot !== undefined) {
        groupId = snapshot.groupId;
        log.info(
          { routes: snapshot.routes, groupId, ms: now() - started, file: config.stateFile },
          'RIB loaded from snapshot',
        );
      } else {
        // No snapshot: a new generation of the group reads the topics from the beginning.
        groupId = `${config.groupId}.${now()}`;
        log.info({ groupId, file: config.stateFile }, 'no RIB snapshot; rebuilding from the topics');
      }
      // Observers are attached after the load: the snapshot's rows were written before it was taken.
      rib.observer = originObserver;
      consumer = deps.createConsumer(groupId);
      await consumer.start({
        onBatch,
        onRevoked: (partitions) => {
          log.warn(
            { partitions },
            'partitions revoked: run one bgp-processor per RIB (the RIB needs every peer)',
          );
        },
      });
      flushTimer = setInterval(() => void serial(flushNow).catch(() => undefined), config.flushIntervalMs);
      rowsTimer = setInterval(
        () => void serial(snapshotRowsNow).catch(() => undefined),
        config.snapshotRowsIntervalMs,
      );
      snapshotTimer = setInterval(
        () => void serial(checkpointNow).catch(() => undefined),
        config.snapshotIntervalMs,
      );
      if (detectors !== undefined) {
        tickTimer = setInterval(
          () => detectors.tick(now(), rib.peerSummaries()),
          Math.min(5000, config.flushIntervalMs),
        );
      }
    },
    async stop() {
      for (const t of [flushTimer, rowsTimer, snapshotTimer, tickTimer])
        if (t !== undefined) clearInterval(t);
      await chain;
      if (consumer !== undefined) {
        // Stop reading first, then save what was applied and commit it.
        const c = consumer;
        try {
          await serial(snapshotRowsNow);
          await serial(checkpointNow);
        } finally {
          consumer = undefined;
          await c.stop();
        }
      }
      rib.observer = undefined;
    },
  };
}
