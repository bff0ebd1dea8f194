/**
 * IP → origin AS lookups per second on one core over a full synthetic table (`load/src/bgp/full-table-synthetic.ts`:
 * ~1.0M IPv4 routes in the report's Table 1 shape scaled to today, ~230k IPv6), loaded into the live RIB the
 * bgp-processor uses. Addresses: half inside announced prefixes (traffic goes where routes are), half uniformly
 * random over the family's space. Measured through `OriginAsLookup.originAs(bytes)` (what the flows collector
 * calls) for IPv4, IPv6 and the report's mix (IPv6 ≈ 4% of traffic, Fig. 6), and through the IPv4 fast path on
 * 32-bit words. Each: a warm-up, then --runs runs of at least --seconds, the median reported. Also records the
 * RIB's memory per route (heap + array buffers grown while loading). Goal: ≥ 2M lookups/s.
 */

import os from 'node:os';
import { create } from '@bufbuild/protobuf';
import { RibType, RouteUpdateSchema } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { attributeKey } from '../../../services/bgp/src/rib/attributes.ts';
import { Rib } from '../../../services/bgp/src/rib/rib.ts';
import { type Benchmark, intFlag, median } from '../benchmark.ts';
import { random, type SyntheticGroup, syntheticFullTable } from '../bgp/full-table-synthetic.ts';

const PEER = {
  identity: { router: '192.0.2.1', distinguisher: '0', address: '198.51.100.1' },
  ribType: RibType.ADJ_RIB_IN_PRE_POLICY,
  asn: 64_496,
};

function memoryNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function settle(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export function loadRib(rib: Rib, groups: readonly SyntheticGroup[]): number {
  let routes = 0;
  for (const group of groups) {
    const key = attributeKey(
      create(RouteUpdateSchema, {
        asPath: [{ type: 2, asns: group.asPath }],
        originAs: group.asPath.at(-1) ?? 0,
        nextHopAddress: group.nextHop,
        communities: group.communities,
        med: group.med,
        origin: 1,
      }),
    );
    const origin = group.asPath.at(-1) ?? 0;
    for (const prefix of group.prefixes) {
      rib.announceRoute(PEER, group.family, prefix.address, prefix.length, 0, key, origin, 1);
      routes++;
    }
  }
  return routes;
}

function addresses(
  groups: readonly SyntheticGroup[],
  family: 4 | 6,
  count: number,
  seed: number,
): Uint8Array[] {
  const next = random(seed);
  const prefixes = groups.filter((g) => g.family === family).flatMap((g) => g.prefixes);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = family === 4 ? 4 : 16;
    const address = new Uint8Array(size);
    for (let b = 0; b < size; b++) address[b] = Math.floor(next() * 256);
    if (family === 6) address[0] = 0x20 | (address[0]! & 0x0f);
    if (next() < 0.5) {
      const p = prefixes[Math.floor(next() * prefixes.length)]!;
      for (let bit = 0; bit < p.length; bit++) {
        const mask = 0x80 >> (bit & 7);
        address[bit >> 3] = (address[bit >> 3]! & ~mask) | (p.address[bit >> 3]! & mask);
      }
    }
    out.push(address);
  }
  return out;
}

function measure(
  lookup: (i: number) => number | undefined,
  count: number,
  seconds: number,
): { perSecond: number; found: number } {
  let done = 0;
  let found = 0;
  const started = process.hrtime.bigint();
  const limit = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  let i = 0;
  while (now < limit) {
    for (let k = 0; k < 4096; k++) {
      if (lookup(i) !== undefined) found++;
      i = i + 1 === count ? 0 : i + 1;
    }
    done += 4096;
    now = process.hrtime.bigint();
  }
  return { perSecond: done / (Number(now - started) / 1e9), found: found / done };
}

export const benchmark: Benchmark = {
  name: 'bgp-lookup',
  description: 'IP → origin AS lookups/s on one core over a full synthetic table (goal ≥ 2M/s)',
  flags: {
    ipv4: 'IPv4 routes (default 1,000,000)',
    ipv6: 'IPv6 routes (default 230,000)',
    seconds: 'seconds per run (default 3)',
    runs: 'runs per case, median reported (default 5)',
  },
  async run(args) {
    const ipv4 = intFlag(args, 'ipv4', 1_000_000);
    const ipv6 = intFlag(args, 'ipv6', 230_000);
    const seconds = intFlag(args, 'seconds', 3);
    const runs = intFlag(args, 'runs', 5);
    const groups = syntheticFullTable({ ipv4Routes: ipv4, ipv6Routes: ipv6 });
    const v4 = addresses(groups, 4, 1 << 20, 1);
    const v6 = addresses(groups, 6, 1 << 18, 2);
    settle();
    const before = memoryNow();
    const rib = new Rib();
    const loadStarted = performance.now();
    const routes = loadRib(rib, groups);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    settle();
    const bytesPerRoute = (memoryNow() - before) / routes;
    const words = Uint32Array.from(v4, (a) => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0);
    // The report's mix: IPv6 about 4% of traffic (Fig. 6).
    const mixed = Array.from({ length: 1 << 20 }, (_, i) => (i % 25 === 0 ? v6[i % v6.length]! : v4[i]!));
    const cases: { name: string; lookup: (i: number) => number | undefined; count: number }[] = [
      { name: 'ipv4 originAs(bytes)', lookup: (i) => rib.originAs(v4[i]!), count: v4.length },
      {
        name: 'ipv4 lookupV4(word)',
        lookup: (i) => {
          const id = rib.lookupV4(words[i]!);
          return id < 0 ? undefined : rib.originOfV4(id);
        },
        count: words.length,
      },
      { name: 'ipv6 originAs(bytes)', lookup: (i) => rib.originAs(v6[i]!), count: v6.length },
      { name: 'mix 96% v4 / 4% v6', lookup: (i) => rib.originAs(mixed[i]!), count: mixed.length },
    ];
    const results: Record<string, { lookupsPerSecond: number; matchedShare: number; runs: number[] }> = {};
    for (const c of cases) {
      measure(c.lookup, c.count, 1);
      const samples = Array.from({ length: runs }, () => measure(c.lookup, c.count, seconds));
      results[c.name] = {
        lookupsPerSecond: Math.round(median(samples.map((s) => s.perSecond))),
        matchedShare: Math.round((samples[0]?.found ?? 0) * 1000) / 1000,
        runs: samples.map((s) => Math.round(s.perSecond)),
      };
    }
    // Spot check against the table: a prefix's own first address resolves to its group's origin or a longer match.
    const sample = groups[Math.floor(groups.length / 3)]!;
    const check = rib.lookup(sample.prefixes[0]!.address);
    const ipv4Rate = results['ipv4 originAs(bytes)']?.lookupsPerSecond ?? 0;
    return {
      routes,
      ipv4Routes: ipv4,
      ipv6Routes: ipv6,
      attributeSets: rib.attributes.size,
      loadSeconds: Math.round(loadSeconds * 100) / 100,
      bytesPerRoute: Math.round(bytesPerRoute),
      ribArrayBytes: rib.arrayBytes(),
      lookups: results,
      lookupsPerSecond: ipv4Rate,
      goalLookupsPerSecond: 2_000_000,
      meetsGoal: ipv4Rate >= 2_000_000 && (results['mix 96% v4 / 4% v6']?.lookupsPerSecond ?? 0) >= 2_000_000,
      loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
      spotCheck: {
        prefix: `${formatIpAddress(sample.prefixes[0]!.address)}/${sample.prefixes[0]!.length}`,
        answer: check?.prefix ?? '',
        originAs: check?.originAs ?? 0,
      },
      tables: [
        {
          title: `IP → origin AS over ${routes.toLocaleString('en')} routes (load ${loadSeconds.toFixed(1)} s, ${Math.round(bytesPerRoute)} B/route)`,
          columns: ['case', 'lookups/s (median)', 'matched share'],
          rows: Object.entries(results).map(([name, r]) => [
            name,
            r.lookupsPerSecond.toLocaleString('en'),
            r.matchedShare,
          ]),
        },
      ],
    };
  },
};

export default benchmark;
