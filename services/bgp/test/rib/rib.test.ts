import { create } from '@bufbuild/protobuf';
import {
  Afi,
  AsPathSegmentType,
  RibType,
  RouteAction,
  RouteUpdateSchema,
  Safi,
} from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import { type AnnounceEvent, type PeerIdentity, Rib } from '../../src/rib/index.ts';

const peerA = {
  identity: { router: '192.0.2.1', distinguisher: '0', address: '198.51.100.1' },
  ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
};
const peerB = {
  identity: { router: '192.0.2.1', distinguisher: '0', address: '198.51.100.2' },
  ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
};

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bytesV4 = (word: number): Uint8Array =>
  Uint8Array.of(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
const maskV4 = (word: number, length: number): number =>
  length === 0 ? 0 : (word & (0xffffffff << (32 - length))) >>> 0;

interface OracleEntry {
  word: number;
  length: number;
  asn: number;
}

/** Brute force: the longest of all prefixes that covers the address. */
function oracleV4(entries: Iterable<OracleEntry>, address: number): number | undefined {
  let best: OracleEntry | undefined;
  for (const e of entries) {
    if (maskV4(address, e.length) === e.word && (best === undefined || e.length > best.length)) best = e;
  }
  return best?.asn;
}

const attrs = (origin: number) => `${origin}\t64496 ${origin}\t192.0.2.254\t\t\t\t\t\t1\t0`;

describe('Rib IPv4 longest-prefix match', () => {
  it('matches a brute-force oracle over random prefixes through inserts and withdrawals', () => {
    const next = random(42);
    const rib = new Rib();
    const live = new Map<string, OracleEntry>();
    // Addresses cluster in a few /8s so prefixes nest (the interesting case for leaf pushing).
    const base = [10, 172, 192, 203].map((octet) => octet << 24);
    const randomWord = () => (base[Math.floor(next() * base.length)]! | Math.floor(next() * 0x1000000)) >>> 0;
    for (let round = 0; round < 6000; round++) {
      const length = Math.floor(next() * 33);
      const word = maskV4(randomWord(), length);
      const key = `${word}/${length}`;
      if (live.has(key) && next() < 0.5) {
        expect(rib.withdrawRoute(peerA, 4, bytesV4(word), length, 0)).toBe(true);
        live.delete(key);
      } else {
        const asn = 64_512 + Math.floor(next() * 1000);
        rib.announceRoute(peerA, 4, bytesV4(word), length, 0, attrs(asn), asn, 1);
        live.set(key, { word, length, asn });
      }
      if (round % 500 === 0 || round === 5999) {
        for (let probe = 0; probe < 300; probe++) {
          const address = next() < 0.9 ? randomWord() : Math.floor(next() * 0x100000000) >>> 0;
          expect(rib.originAs(bytesV4(address)), `probe ${address} at round ${round}`).toBe(
            oracleV4(live.values(), address),
          );
        }
        // Every live prefix's own address resolves at least as specifically as itself.
        for (const e of live.values())
          expect(rib.originAs(bytesV4(e.word))).toBe(oracleV4(live.values(), e.word));
      }
    }
    expect(rib.prefixes4.size).toBe(live.size);
  }, 60_000);

  it('answers with the covering prefix again after a more-specific is withdrawn, and nothing once all are', () => {
    const rib = new Rib();
    const cover = parseIpAddress('203.0.112.0');
    const specific = parseIpAddress('203.0.113.0');
    rib.announceRoute(peerA, 4, cover, 22, 0, attrs(64500), 64500, 1);
    rib.announceRoute(peerA, 4, specific, 24, 0, attrs(64666), 64666, 1);
    expect(rib.originAs(parseIpAddress('203.0.113.77'))).toBe(64666);
    expect(rib.originAs(parseIpAddress('203.0.114.1'))).toBe(64500);
    rib.withdrawRoute(peerA, 4, specific, 24, 0);
    expect(rib.originAs(parseIpAddress('203.0.113.77'))).toBe(64500);
    rib.withdrawRoute(peerA, 4, cover, 22, 0);
    expect(rib.originAs(parseIpAddress('203.0.113.77'))).toBeUndefined();
    expect(rib.routeCount()).toBe(0);
    expect(rib.attributes.size).toBe(0);
  });

  it('a default route covers everything; a /32 only itself', () => {
    const rib = new Rib();
    rib.announceRoute(peerA, 4, parseIpAddress('0.0.0.0'), 0, 0, attrs(1), 1, 1);
    rib.announceRoute(peerA, 4, parseIpAddress('192.0.2.9'), 32, 0, attrs(2), 2, 1);
    expect(rib.originAs(parseIpAddress('8.8.8.8'))).toBe(1);
    expect(rib.originAs(parseIpAddress('192.0.2.9'))).toBe(2);
    expect(rib.originAs(parseIpAddress('192.0.2.10'))).toBe(1);
    expect(rib.lookup(parseIpAddress('192.0.2.9'))?.uniformLength).toBe(32);
    expect(rib.lookup(parseIpAddress('8.8.8.8'))?.uniformLength).toBe(16);
  });
});

describe('Rib IPv6', () => {
  it('matches a brute-force oracle', () => {
    const next = random(7);
    const rib = new Rib();
    const live: { bytes: Uint8Array; length: number; asn: number }[] = [];
    const covers = (prefix: Uint8Array, length: number, address: Uint8Array) => {
      for (let bit = 0; bit < length; bit++) {
        const mask = 0x80 >> (bit & 7);
        if ((prefix[bit >> 3]! & mask) !== (address[bit >> 3]! & mask)) return false;
      }
      return true;
    };
    const randomAddress = () => {
      const a = new Uint8Array(16);
      a[0] = 0x20;
      a[1] = 0x01;
      a[2] = 0x0d;
      a[3] = Math.floor(next() * 4);
      for (let i = 4; i < 16; i++) a[i] = Math.floor(next() * 4);
      return a;
    };
    for (let i = 0; i < 1500; i++) {
      // Mostly /16–/64 (both halves of the IPv6 index), some /65–/128.
      const length = next() < 0.9 ? 16 + Math.floor(next() * 49) : 65 + Math.floor(next() * 64);
      const bytes = randomAddress();
      for (let bit = length; bit < 128; bit++) bytes[bit >> 3] = bytes[bit >> 3]! & ~(0x80 >> (bit & 7));
      const asn = 65_000 + i;
      const existing = live.findIndex((e) => e.length === length && e.bytes.every((b, j) => b === bytes[j]));
      if (existing >= 0) live.splice(existing, 1);
      live.push({ bytes, length, asn });
      rib.announceRoute(peerA, 6, bytes, length, 0, attrs(asn), asn, 1);
    }
    for (let probe = 0; probe < 2000; probe++) {
      const address = randomAddress();
      let best: (typeof live)[number] | undefined;
      for (const e of live)
        if (covers(e.bytes, e.length, address) && (best === undefined || e.length > best.length)) best = e;
      expect(rib.originAs(address)).toBe(best?.asn);
    }
  });
});

describe('Rib peers, withdrawals and ADD-PATH', () => {
  it('keeps ADD-PATH paths of one prefix apart and withdraws them one by one', () => {
    const rib = new Rib();
    const prefix = parseIpAddress('198.18.0.0');
    rib.announceRoute(peerA, 4, prefix, 15, 1, attrs(64500), 64500, 1);
    rib.announceRoute(peerA, 4, prefix, 15, 2, attrs(64500), 64500, 1);
    expect(rib.routeCount()).toBe(2);
    expect(rib.prefixes4.size).toBe(1);
    expect(rib.withdrawRoute(peerA, 4, prefix, 15, 1)).toBe(true);
    expect(rib.originAs(parseIpAddress('198.19.1.1'))).toBe(64500);
    expect(rib.withdrawRoute(peerA, 4, prefix, 15, 1)).toBe(false);
    expect(rib.withdrawRoute(peerA, 4, prefix, 15, 2)).toBe(true);
    expect(rib.originAs(parseIpAddress('198.19.1.1'))).toBeUndefined();
  });

  it('answers the origin most routes carry, and follows it as peers change their minds', () => {
    const rib = new Rib();
    const changes: [number, number][] = [];
    rib.observer = { onOriginChange: (_f, _id, previous, current) => changes.push([previous, current]) };
    const prefix = parseIpAddress('192.0.2.0');
    const peerC = { ...peerA, identity: { ...peerA.identity, address: '198.51.100.3' } };
    rib.announceRoute(peerA, 4, prefix, 24, 0, attrs(64500), 64500, 1);
    rib.announceRoute(peerB, 4, prefix, 24, 0, attrs(64501), 64501, 1);
    // A tie goes to the lower ASN.
    expect(rib.originAs(prefix)).toBe(64500);
    rib.announceRoute(peerC, 4, prefix, 24, 0, attrs(64501), 64501, 1);
    expect(rib.originAs(prefix)).toBe(64501);
    rib.withdrawRoute(peerC, 4, prefix, 24, 0);
    rib.withdrawRoute(peerB, 4, prefix, 24, 0);
    expect(rib.originAs(prefix)).toBe(64500);
    expect(changes).toEqual([
      [0, 64500],
      [64500, 64501],
      [64501, 64500],
    ]);
  });

  it('replacing a route moves its attribute reference and keeps counts per length', () => {
    const rib = new Rib();
    const prefix = parseIpAddress('192.0.2.0');
    rib.announceRoute(peerA, 4, prefix, 24, 0, attrs(64500), 64500, 1);
    rib.announceRoute(peerA, 4, prefix, 24, 0, attrs(64501), 64501, 2);
    expect(rib.attributes.size).toBe(1);
    expect(rib.originAs(prefix)).toBe(64501);
    const [summary] = rib.peerSummaries();
    expect(summary?.routes).toEqual({ ipv4: 1, ipv6: 0 });
    expect(summary?.lengths.ipv4[24]).toBe(1);
  });

  it('a Peer Down drops that peer only, only routes received before it, and ignores late older updates', () => {
    const rib = new Rib();
    const events: AnnounceEvent[] = [];
    rib.observer = { onAnnounce: (e) => events.push(e) };
    for (let i = 0; i < 100; i++) {
      const p = bytesV4(((10 << 24) | (i << 8)) >>> 0);
      rib.announceRoute(peerA, 4, p, 24, 0, attrs(64500), 64500, 1000);
      rib.announceRoute(peerB, 4, p, 24, 0, attrs(64500), 64500, 1000);
    }
    // The reconnected session re-sent one route before the Peer Down was read.
    rib.announceRoute(peerA, 4, bytesV4((11 << 24) >>> 0), 8, 0, attrs(64511), 64511, 3000);
    const identity: PeerIdentity = peerA.identity;
    expect(rib.peerDown(identity, 2000)).toBe(100);
    const byPeer = Object.fromEntries(rib.peerSummaries().map((s) => [s.info.address, s.routes.ipv4]));
    expect(byPeer).toEqual({ '198.51.100.1': 1, '198.51.100.2': 100 });
    expect(rib.originAs(bytesV4(((10 << 24) | (5 << 8)) >>> 0))).toBe(64500);
    expect(rib.originAs(parseIpAddress('11.1.1.1'))).toBe(64511);
    expect(events.length).toBe(101);
  });
});

describe('Rib.applyUpdate', () => {
  const update = (action: RouteAction, prefix: string, length: number, receivedMs: number, origin = 64500) =>
    create(RouteUpdateSchema, {
      timeReceivedNs: BigInt(receivedMs) * 1_000_000n,
      routerAddress: parseIpAddress('192.0.2.1'),
      peer: { address: parseIpAddress('198.51.100.1'), asn: 64496 },
      ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
      action,
      afi: prefix.includes(':') ? Afi.IPV6 : Afi.IPV4,
      safi: Safi.UNICAST,
      prefix: parseIpAddress(prefix),
      prefixLength: length,
      ...(action === RouteAction.ANNOUNCE
        ? { asPath: [{ type: AsPathSegmentType.AS_SEQUENCE, asns: [64496, origin] }], originAs: origin }
        : {}),
    });

  it('announces, withdraws, and ignores an update received before the last Peer Down', () => {
    const rib = new Rib();
    expect(rib.applyUpdate(update(RouteAction.ANNOUNCE, '2001:db8::', 32, 1000))).toBe(true);
    expect(rib.originAs(parseIpAddress('2001:db8::1'))).toBe(64500);
    rib.peerDown({ router: '192.0.2.1', distinguisher: '0', address: '198.51.100.1' }, 2000);
    expect(rib.originAs(parseIpAddress('2001:db8::1'))).toBeUndefined();
    expect(rib.applyUpdate(update(RouteAction.ANNOUNCE, '192.0.2.0', 24, 1500))).toBe(false);
    expect(rib.applyUpdate(update(RouteAction.ANNOUNCE, '192.0.2.0', 24, 2500))).toBe(true);
    expect(rib.routesOf(4, parseIpAddress('192.0.2.0'), 24)[0]?.attributes.asPath).toBe('64496 64500');
    expect(rib.applyUpdate(update(RouteAction.WITHDRAW, '192.0.2.0', 24, 2600))).toBe(true);
    expect(rib.routeCount()).toBe(0);
  });
});
