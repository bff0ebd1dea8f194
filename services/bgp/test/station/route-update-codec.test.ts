/**
 * The hand-written RouteUpdate encoder writes exactly what protobuf-es's `toBinary` writes: on every route the
 * station publishes from the BMP captures and the replay publishes from the MRT captures, and on random routes
 * reaching the edges (64-bit times and distinguishers, 4-octet ASNs, long paths, empty and huge lists,
 * optional fields set to zero).
 */

import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import {
  FeedSource,
  PeerType,
  RibType,
  RouteAction,
  type RouteUpdate,
  RouteUpdateSchema,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { describe, expect, it } from 'vitest';
import type { BgpUpdate, PathAttributes } from '../../src/decoders/bgp/types.ts';
import { createBmpSession, parseBmpMessage } from '../../src/decoders/bmp/index.ts';
import { readMrt } from '../../src/decoders/mrt/reader.ts';
import {
  bgp4mpUpdates,
  type MrtMappingContext,
  PeerCache,
  ribRecordUpdates,
  tableDumpUpdates,
} from '../../src/replay/mrt-mapping.ts';
import {
  peerOfHeader,
  routeMonitoringEncoded,
  routeMonitoringUpdates,
} from '../../src/station/bmp-mapping.ts';
import { encodeRouteUpdate, RouteUpdateBatchWriter } from '../../src/station/route-update-codec.ts';
import {
  announcedAttributes,
  announcement,
  encodedRouteUpdatesOf,
  peerMessage,
  type RouteContext,
  routeUpdatesOf,
  withdrawal,
} from '../../src/station/route-updates.ts';
import { captureFiles, haveCaptures, readBmpStreams } from '../decoders/bmp/captures.ts';
import { haveMrtCaptures, mrtCaptures } from '../replay/bgpdump.ts';

function same(update: RouteUpdate): void {
  const ours = encodeRouteUpdate(update);
  const reference = toBinary(RouteUpdateSchema, update);
  if (Buffer.compare(Buffer.from(ours), Buffer.from(reference)) !== 0) {
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(reference).toString('hex'));
  }
}

const hex = (values: readonly Uint8Array[]) => values.map((v) => Buffer.from(v).toString('hex'));

/** The station's per-UPDATE encoding gives the messages (and counts) of the per-route path, byte for byte. */
function sameEncoded(update: BgpUpdate, context: RouteContext, writer: RouteUpdateBatchWriter): number {
  const mapped = routeUpdatesOf(update, context);
  const encoded = encodedRouteUpdatesOf(update, context, writer);
  expect(hex(encoded.values)).toEqual(hex(mapped.updates.map((u) => toBinary(RouteUpdateSchema, u))));
  expect(encoded.announced).toBe(mapped.announced);
  expect(encoded.withdrawn).toBe(mapped.withdrawn);
  expect(encoded.skipped).toEqual(mapped.skipped);
  expect(encoded.endOfRib).toEqual(mapped.endOfRib);
  return encoded.values.length;
}

describe.skipIf(!haveCaptures)('RouteUpdate encoder on the BMP captures', () => {
  it('encodes each UPDATE’s routes as toBinary does, prefix by prefix', async () => {
    const writer = new RouteUpdateBatchWriter();
    let routes = 0;
    for (const file of captureFiles(/\.pcap$/)) {
      for (const stream of await readBmpStreams(file)) {
        const session = createBmpSession();
        for (const frame of stream.messages) {
          const message = parseBmpMessage(frame, session);
          if (message.type !== 'route-monitoring') continue;
          const context = {
            routerAddress: Uint8Array.of(192, 0, 2, 1),
            timeReceivedNs: 1_700_000_000_123_456_789n,
          };
          const peer = peerOfHeader(message.peer);
          const expected = routeMonitoringUpdates(message, context, peer).updates;
          const encoded = routeMonitoringEncoded(message, context, peer, writer).values;
          expect(hex(encoded)).toEqual(hex(expected.map((u) => toBinary(RouteUpdateSchema, u))));
          routes += encoded.length;
        }
      }
    }
    expect(routes).toBeGreaterThan(300);
  });

  it('writes toBinary’s bytes for every route', async () => {
    let routes = 0;
    for (const file of captureFiles(/\.pcap$/)) {
      for (const stream of await readBmpStreams(file)) {
        const session = createBmpSession();
        for (const frame of stream.messages) {
          const message = parseBmpMessage(frame, session);
          if (message.type !== 'route-monitoring') continue;
          const mapped = routeMonitoringUpdates(message, {
            routerAddress: Uint8Array.of(192, 0, 2, 1),
            timeReceivedNs: 1_700_000_000_123_456_789n,
          });
          for (const update of mapped.updates) {
            same(update);
            routes++;
          }
        }
      }
    }
    expect(routes).toBeGreaterThan(300);
  });
});

describe.skipIf(!haveMrtCaptures)('RouteUpdate encoder on the MRT captures', () => {
  it('writes toBinary’s bytes for every route', { timeout: 120_000 }, async () => {
    let routes = 0;
    for (const file of [
      'bview.ipv6_unicast_add_path.gz',
      'bview.64k_stream_overflow.gz',
      'updates.20160811.1600.gz',
      'rrc00__1999.09__updates.19990903.1041.gz',
    ]) {
      const context: MrtMappingContext = { timeReceivedNs: 1n << 62n, routerAddress: new Uint8Array(0) };
      const peers = new PeerCache();
      for await (const record of readMrt(join(mrtCaptures, file))) {
        const mapped =
          record.kind === 'rib'
            ? ribRecordUpdates(record, context, peers)
            : record.kind === 'table-dump'
              ? tableDumpUpdates(record, context, peers)
              : record.kind === 'bgp4mp-message' && record.message.type === 'update'
                ? bgp4mpUpdates(record, context, peers)
                : undefined;
        for (const update of mapped?.updates ?? []) {
          same(update);
          routes++;
        }
      }
    }
    expect(routes).toBeGreaterThan(40_000);
  });
});

describe.skipIf(!haveMrtCaptures)('per-UPDATE encoding on the MRT captures’ BGP4MP UPDATEs', () => {
  it('gives the per-route messages byte for byte', { timeout: 120_000 }, async () => {
    const writer = new RouteUpdateBatchWriter();
    let routes = 0;
    for (const file of ['updates.20160811.1600.gz', 'rrc00__1999.09__updates.19990903.1041.gz']) {
      for await (const record of readMrt(join(mrtCaptures, file))) {
        if (record.kind !== 'bgp4mp-message' || record.message.type !== 'update') continue;
        const context: RouteContext = {
          timeReceivedNs: 1n << 62n,
          timeObservedNs: 1_471_000_000_000_000_000n,
          routerAddress: record.localAddress,
          peer: peerMessage({
            address: record.peerAddress,
            asn: record.peerAs,
            bgpId: new Uint8Array(0),
            distinguisher: 0n,
            type: PeerType.GLOBAL_INSTANCE,
          }),
          ribType: RibType.LOC_RIB,
          source: FeedSource.MRT_BGP4MP,
        };
        routes += sameEncoded(record.message, context, writer);
      }
    }
    expect(routes).toBeGreaterThan(10_000);
  });
});

describe('per-UPDATE encoding on random UPDATEs', () => {
  it('gives the per-route messages byte for byte (withdrawals, both families, ADD-PATH, treat-as-withdraw)', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed;
    };
    const u32 = () => (next() & 1 ? next() : next() & 0xff);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
    const writer = new RouteUpdateBatchWriter();
    const prefixes = (afi: 1 | 2, addPath: boolean) =>
      Array.from({ length: next() % 12 }, () => ({
        afi,
        address: bytes(afi === 1 ? 4 : 16),
        length: next() % (afi === 1 ? 33 : 129),
        ...(addPath ? { pathId: u32() } : {}),
      }));
    let routes = 0;
    for (let i = 0; i < 3000; i++) {
      const addPath = (next() & 3) === 0;
      const attributes: PathAttributes = {
        ...(next() % 5 === 0 ? {} : { origin: (next() % 3) as 0 | 1 | 2 }),
        asPath: Array.from({ length: next() % 3 }, () => ({
          type: ((next() % 4) + 1) as 1 | 2 | 3 | 4,
          asns: Array.from({ length: next() % 12 }, u32),
        })),
        ...(next() & 1 ? { nextHop: bytes(4) } : {}),
        ...(next() & 1 ? { localPref: u32() } : {}),
        ...(next() & 1 ? { med: next() % 3 === 0 ? 0 : u32() } : {}),
        atomicAggregate: (next() & 1) === 1,
        communities: Array.from({ length: next() % 5 }, u32),
        extendedCommunities: Array.from(
          { length: next() % 3 },
          () => (BigInt(next()) << 32n) | BigInt(next()),
        ),
        largeCommunities: Array.from({ length: next() % 3 }, () => ({
          globalAdministrator: u32(),
          localData1: u32(),
          localData2: u32(),
        })),
        otherFamilies: [],
        unknown: [],
        errors: [],
        treatAsWithdraw: next() % 10 === 0,
      };
      if (next() & 1) {
        const afi = (next() & 1 ? 1 : 2) as 1 | 2;
        attributes.mpReach = {
          afi,
          safi: next() % 4 === 0 ? 2 : 1,
          nextHop: bytes(afi === 1 ? 4 : 16),
          nlri: prefixes(afi, addPath),
        };
      }
      if (next() & 1) {
        const afi = (next() & 1 ? 1 : 2) as 1 | 2;
        attributes.mpUnreach = { afi, safi: next() % 4 === 0 ? 2 : 1, withdrawn: prefixes(afi, addPath) };
      }
      const update: BgpUpdate = {
        type: 'update',
        length: 0,
        withdrawn: prefixes(1, addPath),
        attributes,
        nlri: prefixes(1, addPath),
      };
      const context: RouteContext = {
        timeReceivedNs: (BigInt(next()) << 32n) | BigInt(next()),
        timeObservedNs: BigInt(next()) * 1000n,
        routerAddress: bytes(next() & 1 ? 4 : 16),
        peer: peerMessage({
          address: bytes(4),
          asn: u32(),
          bgpId: bytes(4),
          distinguisher: next() & 1 ? BigInt(next()) : 0n,
          type: next() % 4,
        }),
        ribType: (next() % 6) as RibType,
        source: FeedSource.BMP,
      };
      routes += sameEncoded(update, context, writer);
    }
    expect(routes).toBeGreaterThan(10_000);
  });
});

describe('RouteUpdate encoder on random routes', () => {
  it('writes toBinary’s bytes at the edges', () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed;
    };
    const u32 = () => (next() & 1 ? next() : next() & 0xff);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
    for (let i = 0; i < 5000; i++) {
      const v6 = (next() & 1) === 1;
      const peer = peerMessage({
        address: next() % 5 === 0 ? new Uint8Array(0) : bytes(v6 ? 16 : 4),
        asn: u32(),
        bgpId: next() % 7 === 0 ? new Uint8Array(0) : bytes(4),
        distinguisher: next() & 1 ? (BigInt(next()) << 32n) | BigInt(next()) : 0n,
        type: next() % 5,
      });
      const context = {
        timeReceivedNs: (BigInt(next()) << 32n) | BigInt(next()),
        timeObservedNs: next() & 1 ? 0n : BigInt(next()) * 1_000_000_000n,
        routerAddress: bytes(next() & 1 ? 4 : 16),
        peer,
        ribType: (next() % 6) as RibType,
        source: (next() % 4) as FeedSource,
      };
      const prefix = {
        afi: (v6 ? 2 : 1) as 1 | 2,
        address: bytes(v6 ? 16 : 4),
        length: next() % (v6 ? 129 : 33),
        ...(next() & 1 ? { pathId: u32() } : {}),
      };
      if (next() % 4 === 0) {
        same(withdrawal(context, prefix));
        continue;
      }
      const segments = next() % 4;
      const attributes = announcedAttributes({
        ...(next() % 3 === 0 ? {} : { origin: (next() % 3) as 0 | 1 | 2 }),
        asPath: Array.from({ length: segments }, () => ({
          type: ((next() % 4) + 1) as 1 | 2 | 3 | 4,
          asns: Array.from({ length: next() % 200 }, u32),
        })),
        ...(next() & 1 ? { localPref: next() % 3 === 0 ? 0 : u32() } : {}),
        ...(next() & 1 ? { med: next() % 3 === 0 ? 0 : u32() } : {}),
        atomicAggregate: (next() & 1) === 1,
        communities: Array.from({ length: next() % 40 }, u32),
        extendedCommunities: Array.from(
          { length: next() % 6 },
          () => (BigInt(next()) << 32n) | BigInt(next()),
        ),
        largeCommunities: Array.from({ length: next() % 4 }, () => ({
          globalAdministrator: u32(),
          localData1: u32(),
          localData2: u32(),
        })),
        otherFamilies: [],
        unknown: [],
        errors: [],
        treatAsWithdraw: false,
      });
      same(announcement(context, prefix, bytes(next() % 3 === 0 ? 0 : v6 ? 16 : 4), attributes));
    }
    expect(PeerType.LOC_RIB_INSTANCE).toBe(4);
    expect(RibType.LOC_RIB).toBe(3);
    expect(RouteAction.WITHDRAW).toBe(2);
    expect(FeedSource.BMP).toBe(1);
  });
});
