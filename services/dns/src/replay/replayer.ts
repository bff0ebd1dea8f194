import { topics } from '@kansoku/contracts';
import type { ReplayerDefinition } from '@kansoku/kit';
import { type DnsReplayOptions, dnsReplayOptionsSchema, replayDnsFile } from './dns-replay.ts';

/** `kansoku replay dns <file>`: a DNS packet capture or a dnstap file into the DNS topic. */
export const dnsReplayer: ReplayerDefinition = {
  name: 'dns',
  description:
    'DNS packet capture (pcap/pcapng: UDP and TCP port 53, IPv4/IPv6, fragments) or dnstap .fstrm file → DNS queries topic',
  options: dnsReplayOptionsSchema,
  async run(file, options, context) {
    const log = context.runtime.log.child({ component: 'dns-replay' });
    const replayOptions = options as unknown as DnsReplayOptions;
    // The platform creates the registered topics; another one (a test, a side topic) is created here.
    if (replayOptions.topic !== topics.dnsQueries.name) {
      await context.runtime.kafkaAdmin().ensureTopics([
        {
          name: replayOptions.topic,
          partitions: topics.dnsQueries.defaultPartitions,
          retentionMs: topics.dnsQueries.retentionMs,
        },
      ]);
    }
    const producer = context.runtime.kafkaProducer(log);
    await producer.start();
    try {
      const summary = await replayDnsFile(file, replayOptions, {
        producer,
        log,
        progress: context.progress,
        signal: context.signal,
      });
      return { ...summary };
    } finally {
      await producer.stop();
    }
  },
};
