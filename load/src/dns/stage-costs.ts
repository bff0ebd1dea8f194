/**
 * Per-stage CPU cost of the DNS pipeline without Kafka or sockets: dnstap frames → collector (decode, pair,
 * encode DnsQuery bytes), then processor (decode + aggregate), then the warehouse inserts. Each stage runs
 * over the same records, timed with process.cpuUsage, so stages can be compared per CPU-second on a busy
 * machine. `node --import tsx load/src/dns/stage-costs.ts [queries]`.
 */

import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { encodeDnsQuery } from '../../../services/dns/src/collector/dns-query-codec.ts';
import { DnstapQueryAssembler } from '../../../services/dns/src/decoders/dnstap-queries.ts';
import { aggregateDnsQueries, decodeDnsQueryFast } from '../../../services/dns/src/index.ts';
import { DnsQueryBatchAggregator } from '../../../services/dns/src/processor/batch-aggregator.ts';
import { encodeQueryFrames } from '../../../services/dns/src/simulator/dnstap-encoder.ts';
import { createQueryGenerator } from '../../../services/dns/src/simulator/query-generator.ts';

const queries = Number(process.argv[2] ?? 200_000);
const batch = 50_000;
const generator = createQueryGenerator({
  seed: 1,
  sources: 100_000,
  ipv6Share: 0.3,
  nxdomainShare: 0.03,
  servfailShare: 0.002,
  unansweredShare: 0,
  activitySigma: 1,
  zones: 5000,
});
const identity = Buffer.from('stage-costs');
const now = Date.now();
const frames: Buffer[] = [];
for (let i = 0; i < queries; i++) {
  const q = generator.next(now + i / 100);
  for (const f of encodeQueryFrames({ ...q, responseUs: q.responseUs ?? 500 }, identity)) frames.push(f);
}

function cpu<T>(name: string, units: number, unitName: string, run: () => T): T {
  const before = process.cpuUsage();
  const wall = performance.now();
  const out = run();
  const used = process.cpuUsage(before);
  const s = (used.user + used.system) / 1e6;
  console.log(
    `${name.padEnd(34)} ${(units / s / 1000).toFixed(0).padStart(6)}k ${unitName}/CPU-s  (cpu ${s.toFixed(2)} s, wall ${((performance.now() - wall) / 1000).toFixed(2)} s)`,
  );
  return out;
}

for (let round = 0; round < 3; round++) {
  console.log(`round ${round}`);
  const records: DnsQuery[] = [];
  const assembler = new DnstapQueryAssembler({ maxPending: 200_000, timeoutMs: 10_000 }, (r) =>
    records.push(r),
  );
  cpu('collector: frames → records', frames.length, 'msg', () => {
    const ns = BigInt(now) * 1_000_000n;
    for (const f of frames) assembler.frame(f, ns, now);
  });
  const encoded = cpu('collector: encode DnsQuery', records.length, 'rec', () =>
    records.map((r) => Buffer.from(encodeDnsQuery(r))),
  );
  cpu('processor: decode', encoded.length, 'rec', () => encoded.map((b) => decodeDnsQueryFast(b)));
  const fast = new DnsQueryBatchAggregator({ rawSampleOneIn: 1 });
  cpu('processor: batch aggregator', encoded.length, 'rec', () => {
    for (let i = 0; i < encoded.length; i += batch) {
      const part = encoded.slice(i, i + batch);
      fast.aggregate(part.map((b) => fast.add(b)));
    }
  });
  cpu('processor: reference decode + aggregate', encoded.length, 'rec', () => {
    for (let i = 0; i < encoded.length; i += batch) {
      const items = encoded.slice(i, i + batch).map((b) => decodeDnsQueryFast(b));
      aggregateDnsQueries(items, { rawSampleOneIn: 1 });
    }
  });
}
