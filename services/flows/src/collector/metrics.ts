/**
 * The collector's Prometheus metrics: its own counters (published, publish errors, queue drops, TCP framing
 * errors, state file), and the decoders' counters read from their stats() at scrape time, per exporter.
 * One set per registry; several collectors on one registry (tests) add up.
 */

import { Counter, Gauge, type Registry } from '@kansoku/kit';
import type { NetflowDecoderStats } from '../decoders/netflow/index.ts';
import type { SflowDecoderStats } from '../decoders/sflow/index.ts';

export interface DecoderStatsSource {
  netflow(): NetflowDecoderStats;
  sflow(): SflowDecoderStats;
}

export interface CollectorMetrics {
  published: Counter<'topic'>;
  publishErrors: Counter<'topic'>;
  queueDropped: Counter<never>;
  queued: Gauge<never>;
  tcpFramingErrors: Counter<'code'>;
  stateFile: Counter<'operation' | 'outcome'>;
  enriched: Counter<'side'>;
  /** Collectors whose decoders are read at scrape time. */
  sources: Set<DecoderStatsSource>;
}

type ExporterLabels = 'protocol' | 'exporter';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

const byRegistry = new WeakMap<Registry, CollectorMetrics>();

/** Sets a counter or gauge to the sum of `samples` per label set (counters are rebuilt at every scrape). */
function publishSamples(
  metric: { reset(): void; inc(labels: Record<string, string>, value: number): void },
  samples: Sample[],
): void {
  metric.reset();
  for (const sample of samples) metric.inc(sample.labels, sample.value);
}

export function collectorMetrics(registry: Registry): CollectorMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const sources = new Set<DecoderStatsSource>();

  const netflowStats = () => [...sources].map((source) => source.netflow());
  const sflowStats = () => [...sources].map((source) => source.sflow());
  const exporterCounter = (
    name: string,
    help: string,
    netflow: ((e: NetflowDecoderStats['exporters'][number]) => number) | undefined,
    sflow: ((a: SflowDecoderStats['agents'][number]) => number) | undefined,
  ) =>
    new Counter<ExporterLabels>({
      name,
      help,
      labelNames: ['protocol', 'exporter'],
      registers: [registry],
      collect() {
        const samples: Sample[] = [];
        if (netflow !== undefined) {
          for (const stats of netflowStats()) {
            for (const e of stats.exporters) {
              samples.push({ labels: { protocol: 'netflow', exporter: e.exporter }, value: netflow(e) });
            }
          }
        }
        if (sflow !== undefined) {
          for (const stats of sflowStats()) {
            for (const a of stats.agents) {
              samples.push({ labels: { protocol: 'sflow', exporter: a.agent }, value: sflow(a) });
            }
          }
        }
        publishSamples(this, samples);
      },
    });

  exporterCounter(
    'kansoku_flows_export_packets_total',
    'Export packets (NetFlow/IPFIX) and datagrams (sFlow) received per exporter, decodable or not.',
    (e) => e.packets,
    (a) => a.datagrams,
  );
  exporterCounter(
    'kansoku_flows_records_decoded_total',
    'Flow records decoded per exporter.',
    (e) => e.records,
    (a) => a.records,
  );
  exporterCounter(
    'kansoku_flows_sequence_gaps_total',
    'Export packets whose sequence number was not the expected one, per exporter.',
    (e) => e.sequenceGaps,
    (a) => a.sequenceGaps,
  );
  exporterCounter(
    'kansoku_flows_sequence_missing_total',
    'Sum of forward sequence jumps: lost export packets (v9, sFlow datagrams) or records (v5, IPFIX).',
    (e) => e.sequenceMissing,
    (a) => a.missingDatagrams,
  );
  exporterCounter(
    'kansoku_flows_templates_received_total',
    'Template and options template records received per exporter.',
    (e) => e.templates + e.optionsTemplates,
    undefined,
  );
  exporterCounter(
    'kansoku_flows_pending_sets_decoded_total',
    'Data sets that waited for their template and were decoded when it came.',
    (e) => e.pendingSetsDecoded,
    undefined,
  );
  exporterCounter(
    'kansoku_flows_pending_sets_dropped_total',
    'Data sets that waited for their template in vain and were dropped.',
    (e) => e.pendingSetsDropped,
    undefined,
  );

  new Counter<'protocol' | 'exporter' | 'code'>({
    name: 'kansoku_flows_decode_errors_total',
    help: 'Malformed export packets per exporter and error code (KANSOKU_FLOW_*, KANSOKU_SFLOW_*).',
    labelNames: ['protocol', 'exporter', 'code'],
    registers: [registry],
    collect() {
      const samples: Sample[] = [];
      for (const stats of netflowStats()) {
        for (const e of stats.exporters) {
          for (const [code, value] of Object.entries(e.decodeErrors)) {
            samples.push({ labels: { protocol: 'netflow', exporter: e.exporter, code }, value });
          }
        }
      }
      for (const stats of sflowStats()) {
        for (const a of stats.agents) {
          for (const [code, value] of Object.entries(a.decodeErrors)) {
            samples.push({ labels: { protocol: 'sflow', exporter: a.agent, code }, value });
          }
        }
      }
      publishSamples(this, samples);
    },
  });

  new Gauge<'exporter'>({
    name: 'kansoku_flows_templates_active',
    help: 'Templates and options templates known now per exporter (NetFlow v9 and IPFIX).',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      const samples: Sample[] = [];
      for (const stats of netflowStats()) {
        for (const e of stats.exporters)
          samples.push({ labels: { exporter: e.exporter }, value: e.activeTemplates });
      }
      publishSamples(this, samples);
    },
  });

  new Gauge<'exporter'>({
    name: 'kansoku_flows_pending_sets',
    help: 'Data sets held now while their template is unknown, per exporter.',
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      const samples: Sample[] = [];
      for (const stats of netflowStats()) {
        for (const e of stats.exporters)
          samples.push({ labels: { exporter: e.exporter }, value: e.pendingSets });
      }
      publishSamples(this, samples);
    },
  });

  new Gauge<'protocol'>({
    name: 'kansoku_flows_exporters',
    help: 'Exporters (NetFlow/IPFIX) and agents (sFlow) whose state is kept now.',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of netflowStats()) this.inc({ protocol: 'netflow' }, stats.exporterCount);
      for (const stats of sflowStats()) this.inc({ protocol: 'sflow' }, stats.agents.length);
    },
  });

  new Counter<'protocol'>({
    name: 'kansoku_flows_exporters_evicted_total',
    help: 'Exporters and agents forgotten to stay within maxExporters / maxAgents.',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of netflowStats()) this.inc({ protocol: 'netflow' }, stats.exportersEvicted);
      for (const stats of sflowStats()) this.inc({ protocol: 'sflow' }, stats.agentsEvicted);
    },
  });

  const metrics: CollectorMetrics = {
    published: new Counter({
      name: 'kansoku_flows_collector_records_published_total',
      help: 'Flow records acknowledged by Kafka.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    publishErrors: new Counter({
      name: 'kansoku_flows_collector_publish_errors_total',
      help: 'Flow records lost because Kafka did not acknowledge them (produce failed).',
      labelNames: ['topic'],
      registers: [registry],
    }),
    queueDropped: new Counter({
      name: 'kansoku_flows_collector_queue_dropped_total',
      help: 'Flow records dropped because the publish queue was full (Kafka slower than the exporters).',
      registers: [registry],
    }),
    queued: new Gauge({
      name: 'kansoku_flows_collector_queued_records',
      help: 'Flow records decoded and not yet acknowledged by Kafka.',
      registers: [registry],
    }),
    tcpFramingErrors: new Counter({
      name: 'kansoku_flows_collector_tcp_framing_errors_total',
      help: 'IPFIX over TCP connections closed because a message header was invalid, by code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    stateFile: new Counter({
      name: 'kansoku_flows_collector_state_file_total',
      help: 'Template state file reads and writes by outcome (loaded, missing, corrupt, saved, failed).',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    enriched: new Counter({
      name: 'kansoku_flows_collector_as_enriched_total',
      help: 'Source or destination AS numbers filled in from the origin AS lookup.',
      labelNames: ['side'],
      registers: [registry],
    }),
    sources,
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
