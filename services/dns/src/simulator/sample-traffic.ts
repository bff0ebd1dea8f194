/**
 * A fixed, report-shaped sample of resolver traffic as DnsQuery records: what tests, dashboards checks and
 * fixtures fill a warehouse with (through `writeDnsQueries`). Deterministic for a seed.
 */
import { create } from '@bufbuild/protobuf';
import { type DnsQuery, DnsQuerySchema, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { createQueryGenerator } from './query-generator.ts';

export interface SampleTrafficOptions {
  /** Start and end of the sample, ms since the epoch. */
  fromMs: number;
  toMs: number;
  /** A burst of `perBurst` queries (one a second) every `everyMs`. */
  everyMs?: number;
  perBurst?: number;
  seed?: number;
}

export function sampleDnsQueries(options: SampleTrafficOptions): DnsQuery[] {
  const g = createQueryGenerator({
    seed: options.seed ?? 5,
    sources: 2000,
    ipv6Share: 0.3,
    nxdomainShare: 0.05,
    servfailShare: 0.01,
    unansweredShare: 0.01,
    activitySigma: 1,
    zones: 200,
  });
  const every = options.everyMs ?? 20 * 60_000;
  const perBurst = options.perBurst ?? 150;
  const records: DnsQuery[] = [];
  for (let t = options.fromMs; t < options.toMs; t += every) {
    for (let i = 0; i < perBurst; i++) {
      const q = g.next(t + i * 1000);
      records.push(
        create(DnsQuerySchema, {
          timeQueryNs: BigInt(Math.floor(q.timeMs)) * 1_000_000n,
          clientAddress: q.client,
          ipVersion: q.client.length === 16 ? IpVersion.V6 : IpVersion.V4,
          transport: q.protocol,
          qname: q.qname,
          qtype: q.qtype,
          responseSeen: q.responseUs !== undefined,
          rcode: q.rcode,
          responseTimeUs: BigInt(q.responseUs ?? 0),
          resolverIdentity: 'r1',
        }),
      );
    }
  }
  return records;
}
