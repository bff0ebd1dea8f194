/**
 * Draws simulated flows shaped by the report (profile.ts). Deterministic for a seed, so a load test can be
 * replayed and a test can know what was sent.
 */
import { seededRandom } from '@kansoku/kit';
import { IPV6_BYTE_SHARE, LOCAL_AS, PORT_MIX, pickWeighted, SOURCE_ASES, trafficLevel } from './profile.ts';

export interface SimulatedFlow {
  ipVersion: 4 | 6;
  srcAddress: Uint8Array;
  dstAddress: Uint8Array;
  srcPort: number;
  dstPort: number;
  protocol: number;
  tcpFlags: number;
  bytes: bigint;
  packets: bigint;
  srcAs: number;
  dstAs: number;
  inInterface: number;
  outInterface: number;
  startMs: number;
  endMs: number;
}

/** A source address inside a per-AS block: 198.18.<as index>.x (RFC 2544 benchmark range) or 2001:db8:<as>::x. */
function sourceAddress(ipVersion: 4 | 6, asIndex: number, host: number): Uint8Array {
  if (ipVersion === 4) return Uint8Array.of(198, 18 + (asIndex >> 8), asIndex & 0xff, 1 + (host % 254));
  const a = new Uint8Array(16);
  a.set([0x20, 0x01, 0x0d, 0xb8, 0, asIndex & 0xff], 0);
  a[14] = (host >> 8) & 0xff;
  a[15] = host & 0xff;
  return a;
}

/** Subscriber addresses in our network: 100.64.0.0/10 (shared address space) or 2001:db8:ff00::/40. */
function subscriberAddress(ipVersion: 4 | 6, n: number): Uint8Array {
  if (ipVersion === 4) return Uint8Array.of(100, 64 + ((n >> 16) & 0x3f), (n >> 8) & 0xff, n & 0xff);
  const a = new Uint8Array(16);
  a.set([0x20, 0x01, 0x0d, 0xb8, 0xff, (n >> 16) & 0xff], 0);
  a[14] = (n >> 8) & 0xff;
  a[15] = n & 0xff;
  return a;
}

export function createFlowGenerator(seed: number) {
  const random = seededRandom(seed);
  return {
    /** One flow that ended at `endMs` (simulated time). */
    next(endMs: number): SimulatedFlow {
      const ipVersion: 4 | 6 = random() < IPV6_BYTE_SHARE ? 6 : 4;
      const mix = pickWeighted(PORT_MIX[ipVersion], (e) => e.share, random());
      const ases = SOURCE_ASES[ipVersion];
      const as = pickWeighted(ases, (e) => e.weight, random());
      const asIndex = ases.indexOf(as);
      const srcPort = mix.srcPort === 0 ? 1024 + Math.floor(random() * 64_000) : mix.srcPort;
      // Heavy-tailed flow sizes, scaled by the time-of-day level so the rollups show the report's curves at a
      // constant record rate (what a load test needs).
      const level = trafficLevel(endMs);
      const packets = BigInt(1 + Math.floor(-Math.log(1 - random()) * 60 * level));
      const meanSize = mix.protocol === 17 ? 1200 : 1350;
      const bytes = packets * BigInt(meanSize - Math.floor(random() * 200));
      const durationMs = Math.floor(random() * 30_000);
      return {
        ipVersion,
        srcAddress: sourceAddress(ipVersion, asIndex, Math.floor(random() * 4000)),
        dstAddress: subscriberAddress(ipVersion, Math.floor(random() * 200_000)),
        srcPort,
        dstPort: 1024 + Math.floor(random() * 64_000),
        protocol: mix.protocol,
        tcpFlags: mix.protocol === 6 ? 0x1b : 0,
        bytes,
        packets,
        srcAs: as.asn,
        dstAs: LOCAL_AS,
        inInterface: 1 + asIndex,
        outInterface: 100 + Math.floor(random() * 4),
        startMs: endMs - durationMs,
        endMs,
      };
    },
  };
}
