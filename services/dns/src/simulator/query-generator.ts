/**
 * Simulated resolver clients: a population of sources (IPv4 and IPv6) whose activity weights follow a
 * log-normal distribution (a few busy households and forwarders, many quiet ones) with mean 1, each with a
 * query-type profile drawn so the report's per-transport mix and source shares hold (profile.ts). Names come
 * from a Zipf-popular pool of zones; some queries miss (NXDOMAIN), a few fail (SERVFAIL) or go unanswered.
 * Deterministic from the seed.
 */
import { type Random, seededRandom } from '@kansoku/kit';
import type { SimulatedQuery } from './dnstap-encoder.ts';
import { OTHER_TYPES, profileMix, REPORT_MIX, type SourceProfile, type TransportMix } from './profile.ts';

export interface GeneratorOptions {
  seed: number;
  sources: number;
  /** Share of sources on IPv6 transport. */
  ipv6Share: number;
  nxdomainShare: number;
  servfailShare: number;
  /** Share of queries that never get a response (timeouts, drops). */
  unansweredShare: number;
  /** Log-normal sigma of source activity; 0 makes every source equally busy. */
  activitySigma: number;
  zones: number;
  mix?: Record<4 | 6, TransportMix>;
}

export interface QueryGenerator {
  /** One query from a source picked by activity, at `timeMs`. */
  next(timeMs: number): SimulatedQuery;
  /** A query of a random-subdomain flood under `zone` (NXDOMAIN) from a random source. */
  randomSubdomain(timeMs: number, zone: string): SimulatedQuery;
  /** A query from one fixed source (a client gone wild). */
  fromSource(timeMs: number, index: number): SimulatedQuery;
  readonly sourceCount: number;
  /** Text address of source `index`. */
  sourceAddress(index: number): string;
}

const SERVER_V4 = Uint8Array.from([192, 0, 2, 53]);
const SERVER_V6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]);
const TLDS = ['jp', 'com', 'net', 'co.jp', 'ne.jp', 'org', 'io', 'or.jp'];
const HOSTS = ['www', 'api', 'cdn', 'img', 'static', 'm', 'mail', 'login', 'ads', 'video'];
const MISSES = ['wpad', 'isatap', 'printer', 'old', 'test', 'mial', 'ww'];
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function normal(random: Random): number {
  // Box–Muller; 1 − u keeps log() finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0;
    out[i] = sum;
  }
  return out;
}

function search(cum: Float64Array, x: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cum[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createQueryGenerator(options: GeneratorOptions): QueryGenerator {
  const random = seededRandom(options.seed);
  const mix = options.mix ?? REPORT_MIX;
  const n = options.sources;
  const v6 = new Uint8Array(n);
  const profiles: SourceProfile[] = [];
  const weights = new Float64Array(n);
  const addresses: Uint8Array[] = [];
  const profileSets = { 4: profileMix(mix[4]), 6: profileMix(mix[6]) };
  const sigma = options.activitySigma;
  for (let i = 0; i < n; i++) {
    const isV6 = random() < options.ipv6Share;
    v6[i] = isV6 ? 1 : 0;
    // exp(σZ − σ²/2) has mean 1.
    weights[i] = Math.exp(sigma * normal(random) - (sigma * sigma) / 2);
    const set = profileSets[isV6 ? 6 : 4].profiles;
    let r = random();
    let chosen = set[set.length - 1]?.profile ?? { pA: 1, pAaaa: 0 };
    for (const p of set) {
      if (r < p.share) {
        chosen = p.profile;
        break;
      }
      r -= p.share;
    }
    profiles.push(chosen);
    if (isV6) {
      // 2001:db8:<i>::<random>: one /64 per source, as for a home router's LAN.
      const a = new Uint8Array(16);
      a.set([0x20, 0x01, 0x0d, 0xb8, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]);
      for (let k = 8; k < 16; k++) a[k] = Math.floor(random() * 256);
      addresses.push(a);
    } else {
      // 10.0.0.0/8 and up: source i is 10.x.y.z (+1 to skip .0).
      const v = i + 1;
      addresses.push(
        Uint8Array.from([10 + Math.floor(v / 16_777_216), (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]),
      );
    }
  }
  const sourceCum = cumulative(weights);
  const zoneNames = Array.from({ length: options.zones }, (_, i) => `site${i}.${TLDS[i % TLDS.length]}`);
  const zoneCum = cumulative(Float64Array.from({ length: options.zones }, (_, i) => 1 / (i + 1)));
  const otherCum = cumulative(OTHER_TYPES.map((t) => t.weight));
  let id = 0;

  function latencyUs(): number {
    // 85% cache hits (50–800 µs); misses log-normal around 30 ms.
    if (random() < 0.85) return 50 + Math.floor(random() * 750);
    return Math.min(5_000_000, Math.round(30_000 * Math.exp(0.8 * normal(random))));
  }

  function query(
    timeMs: number,
    source: number,
    qname: string,
    qtype: number,
    rcode: number,
  ): SimulatedQuery {
    const isV6 = v6[source] === 1;
    const answered = random() >= options.unansweredShare;
    id = (id + 1) & 0xffff;
    return {
      timeMs,
      ...(answered ? { responseUs: latencyUs() } : {}),
      client: addresses[source] as Uint8Array,
      clientPort: 1024 + Math.floor(random() * 64_000),
      server: isV6 ? SERVER_V6 : SERVER_V4,
      serverPort: 53,
      protocol: random() < 0.02 ? 2 : 1,
      id,
      qname,
      qtype,
      rcode,
      answers: rcode === 0 ? (qtype === 1 || qtype === 28 ? 1 + Math.floor(random() * 3) : 1) : 0,
    };
  }

  function ordinary(timeMs: number, source: number): SimulatedQuery {
    const profile = profiles[source] as SourceProfile;
    const r = random();
    let qtype: number;
    if (r < profile.pA) qtype = 1;
    else if (r < profile.pA + profile.pAaaa) qtype = 28;
    else qtype = OTHER_TYPES[search(otherCum, random() * (otherCum.at(-1) ?? 1))]?.qtype ?? 65;
    const zone = zoneNames[search(zoneCum, random() * (zoneCum.at(-1) ?? 1))] as string;
    const outcome = random();
    let rcode = 0;
    let qname: string;
    if (qtype === 12) {
      qname = `${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 223)}.in-addr.arpa.`;
    } else if (outcome < options.nxdomainShare) {
      rcode = 3;
      qname = `${pick(random, MISSES)}.${zone}.`;
    } else {
      qname = `${pick(random, HOSTS)}.${zone}.`;
    }
    if (rcode === 0 && outcome >= 1 - options.servfailShare) rcode = 2;
    return query(timeMs, source, qname, qtype, rcode);
  }

  return {
    sourceCount: n,
    next(timeMs) {
      return ordinary(timeMs, search(sourceCum, random() * (sourceCum.at(-1) ?? 1)));
    },
    randomSubdomain(timeMs, zone) {
      let label = '';
      for (let k = 0; k < 12; k++) label += ALNUM[Math.floor(random() * 36)];
      return query(
        timeMs,
        Math.floor(random() * n),
        `${label}.${zone.endsWith('.') ? zone : `${zone}.`}`,
        1,
        3,
      );
    },
    fromSource(timeMs, index) {
      return ordinary(timeMs, index % n);
    },
    sourceAddress(index) {
      const a = addresses[index % n] as Uint8Array;
      return a.length === 4 ? a.join('.') : Buffer.from(a).toString('hex');
    },
  };
}
