/**
 * `kansoku replay mrt <file> [--rate N] [--mode updates|rib] [--router address]`: an MRT file (plain, gzip or
 * bzip2) published to the BGP topics as the station would publish a live feed.
 *
 * Modes:
 * - `updates` (default): every record in file order. TABLE_DUMP / TABLE_DUMP_V2 entries become ANNOUNCEs (a
 *   RIB load), BGP4MP UPDATEs become ANNOUNCE/WITHDRAW per prefix, BGP4MP state changes into or out of
 *   Established become peer UP/DOWN. `--rate N` paces it at N MRT records per second (0: as fast as Kafka
 *   takes them), so an updates file can be played back at its own speed or faster.
 * - `rib`: only the table the file ends with: BGP4MP updates (and peer downs) are folded per (peer, prefix,
 *   path id) in memory and the surviving routes published as ANNOUNCEs at the end. For a RIB dump this is the
 *   same as `updates`.
 *
 * Nothing is dropped: when the publish queue is full, reading waits for Kafka.
 */

import { createReadStream, statSync } from 'node:fs';
import { topics } from '@kansoku/contracts';
import type { PeerEvent, RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { RouteAction } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import type { KafkaProducer, Logger, ReplayProgress } from '@kansoku/kit';
import { type Static, Type } from '@sinclair/typebox';

import { readMrt } from '../decoders/mrt/reader.ts';
import { epochClockNs } from '../station/clock.ts';
import { createBgpPublisher } from '../station/publisher.ts';
import type { MappedUpdate } from '../station/route-updates.ts';
import {
  bgp4mpStateEvent,
  bgp4mpUpdates,
  type MrtMappingContext,
  PeerCache,
  ribRecordUpdates,
  tableDumpUpdates,
} from './mrt-mapping.ts';

export const mrtReplayOptionsSchema = Type.Object({
  rate: Type.Number({
    minimum: 0,
    default: 0,
    description: 'MRT records per second (0: as fast as Kafka acknowledges them)',
  }),
  mode: Type.Union([Type.Literal('updates'), Type.Literal('rib')], {
    default: 'updates',
    description: 'updates: every record in order; rib: only the table the file ends with',
  }),
  router: Type.String({
    default: '',
    description:
      'Router address to publish as (so a bview and its updates files share one router); empty: the dump’s own',
  }),
  updatesTopic: Type.String({ default: topics.bgpUpdates.name, minLength: 1 }),
  peersTopic: Type.String({ default: topics.bgpPeers.name, minLength: 1 }),
  maxQueuedMessages: Type.Integer({ minimum: 1, default: 200_000 }),
  maxSendMessages: Type.Integer({ minimum: 1, default: 10_000 }),
});

export type MrtReplayOptions = Static<typeof mrtReplayOptionsSchema>;

export interface MrtReplayDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: Logger;
  progress?: ReplayProgress;
  signal?: AbortSignal;
  /** Clock in nanoseconds since the epoch (tests). */
  nowNs?: () => bigint;
}

export interface MrtReplaySummary {
  records: number;
  announced: number;
  withdrawn: number;
  peerUp: number;
  peerDown: number;
  /** FSM transitions that neither enter nor leave Established. */
  otherStateChanges: number;
  /** BGP messages other than UPDATE (OPEN, KEEPALIVE, NOTIFICATION), and UPDATEs the collector itself sent. */
  otherMessages: number;
  /** Prefixes (or UPDATEs with undecoded NLRI) of families other than IPv4/IPv6 unicast: not published. */
  otherFamilies: number;
  endOfRib: number;
  /** Records the reader could not decode (the rest of the file is still replayed). */
  malformed: number;
  /** Record types the reader does not decode (OSPF, IS-IS, RIB_GENERIC, …). */
  unsupported: number;
  published: number;
  failed: number;
  seconds: number;
}

function parseRouter(text: string): Uint8Array {
  if (text === '') return new Uint8Array(0);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) return Uint8Array.from(v4.slice(1).map(Number));
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) {
    throw new TypeError(`--router ${text}: not an IPv4 or IPv6 address`);
  }
  const out = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  });
  return out;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const peerId = (message: RouteUpdate | PeerEvent) =>
  `${hex(message.routerAddress)}|${message.peer ? hex(message.peer.address) : ''}|${message.peer?.asn ?? 0}`;

/** `rib` mode: the routes left after applying every update and peer down, per peer. */
class FoldedRib {
  readonly #byPeer = new Map<string, Map<string, RouteUpdate>>();

  apply(update: RouteUpdate): void {
    const peer = peerId(update);
    const route = `${hex(update.prefix)}/${update.prefixLength}#${update.pathId}`;
    let routes = this.#byPeer.get(peer);
    if (update.action === RouteAction.ANNOUNCE) {
      if (routes === undefined) {
        routes = new Map();
        this.#byPeer.set(peer, routes);
      }
      routes.set(route, update);
    } else {
      routes?.delete(route);
    }
  }

  peerDown(event: PeerEvent): void {
    this.#byPeer.delete(peerId(event));
  }

  *routes(): Generator<RouteUpdate> {
    for (const routes of this.#byPeer.values()) yield* routes.values();
  }
}

export async function replayMrtFile(
  file: string,
  options: MrtReplayOptions,
  deps: MrtReplayDeps,
): Promise<MrtReplaySummary> {
  const started = performance.now();
  const nowNs = deps.nowNs ?? epochClockNs();
  const summary: MrtReplaySummary = {
    records: 0,
    announced: 0,
    withdrawn: 0,
    peerUp: 0,
    peerDown: 0,
    otherStateChanges: 0,
    otherMessages: 0,
    otherFamilies: 0,
    endOfRib: 0,
    malformed: 0,
    unsupported: 0,
    published: 0,
    failed: 0,
    seconds: 0,
  };
  const context: MrtMappingContext = { timeReceivedNs: 0n, routerAddress: parseRouter(options.router) };
  const peers = new PeerCache();
  const folded = options.mode === 'rib' ? new FoldedRib() : undefined;

  let release: (() => void) | undefined;
  const publisher = createBgpPublisher<'replay'>(
    {
      updatesTopic: options.updatesTopic,
      peersTopic: options.peersTopic,
      maxQueued: options.maxQueuedMessages,
      maxSend: options.maxSendMessages,
    },
    {
      producer: deps.producer,
      log: deps.log,
      onPressure(full) {
        if (!full && release) {
          release();
          release = undefined;
        }
      },
    },
  );
  const drained = () =>
    new Promise<void>((resolve) => {
      release = resolve;
    });

  let bytes = 0;
  try {
    deps.progress?.setTotal(statSync(file).size);
  } catch {
    // The reader reports a missing file itself.
  }
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      bytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }

  const publishMapped = (mapped: MappedUpdate) => {
    for (const family of mapped.skipped) summary.otherFamilies += Math.max(1, family.prefixes);
    if (mapped.endOfRib) summary.endOfRib++;
    if (folded) {
      for (const update of mapped.updates) folded.apply(update);
    } else {
      publisher.publishUpdates(mapped.updates, 'replay');
    }
    summary.announced += mapped.announced;
    summary.withdrawn += mapped.withdrawn;
  };

  const rate = options.rate;
  const items = () => summary.announced + summary.withdrawn + summary.peerUp + summary.peerDown;
  let lastProgress = 0;

  for await (const record of readMrt(counted())) {
    if (deps.signal?.aborted) break;
    summary.records++;
    context.timeReceivedNs = nowNs();
    switch (record.kind) {
      case 'peer-index-table':
        context.collectorBgpId = record.collectorBgpId;
        break;
      case 'rib':
        publishMapped(ribRecordUpdates(record, context, peers));
        break;
      case 'table-dump':
        publishMapped(tableDumpUpdates(record, context, peers));
        break;
      case 'bgp4mp-message':
        if (record.message.type !== 'update' || record.local) summary.otherMessages++;
        else publishMapped(bgp4mpUpdates(record, context, peers));
        break;
      case 'bgp4mp-state-change': {
        const event = bgp4mpStateEvent(record, context, peers);
        if (event === undefined) {
          summary.otherStateChanges++;
          break;
        }
        if (event.detail.case === 'up') summary.peerUp++;
        else summary.peerDown++;
        if (folded) {
          if (event.detail.case === 'down') folded.peerDown(event);
        } else {
          publisher.publishPeerEvent(event, 'replay');
        }
        break;
      }
      case 'rib-generic':
        summary.otherFamilies += Math.max(1, record.entryCount);
        break;
      case 'unsupported':
        summary.unsupported++;
        break;
      case 'malformed':
        summary.malformed++;
        deps.log.warn(
          { file, code: record.error.code, err: record.error.message, type: record.header.type },
          'MRT record not decoded; replay goes on',
        );
        break;
    }
    if (publisher.full()) await drained();
    if (rate > 0) {
      const due = started + (summary.records / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (deps.progress && summary.records - lastProgress >= 1000) {
      lastProgress = summary.records;
      deps.progress.update(bytes, items());
    }
  }

  if (folded) {
    const batch: RouteUpdate[] = [];
    for (const route of folded.routes()) {
      if (deps.signal?.aborted) break;
      batch.push(route);
      if (batch.length >= 1000) {
        publisher.publishUpdates(batch.splice(0), 'replay');
        if (publisher.full()) await drained();
      }
    }
    publisher.publishUpdates(batch, 'replay');
  }
  await publisher.flush();
  const counts = publisher.counts();
  summary.published = counts.published;
  summary.failed = counts.failed;
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  deps.progress?.update(bytes, items());
  return summary;
}
