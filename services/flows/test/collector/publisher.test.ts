import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { type FlowRecord, FlowRecordSchema } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowRecordBatchSchema } from '@kansoku/contracts/gen/kansoku/flows/v2/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, type OutgoingMessage, type Registry, silentLogger } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createFlowsCollector } from '../../src/collector/collector.ts';
import { collectorMetrics } from '../../src/collector/metrics.ts';
import { createPrefixAsTable } from '../../src/collector/prefix-table.ts';
import { createRecordPublisher } from '../../src/collector/publisher.ts';
import { createNetflowDecoder } from '../../src/decoders/netflow/index.ts';
import { testCollectorConfig } from './collector-config.ts';
import { ipfixStream } from './ipfix-packets.ts';

/** A producer whose sends settle only when the test says so: a Kafka that is slow, or down. */
function slowProducer() {
  const sends: { messages: OutgoingMessage[]; resolve(): void; reject(e: Error): void }[] = [];
  return {
    sends,
    send(_topic: string, messages: OutgoingMessage[]) {
      return new Promise<void>((resolve, reject) => sends.push({ messages, resolve, reject }));
    },
  };
}

const records = () => {
  const decoder = createNetflowDecoder();
  const exporter = { address: parseIpAddress('192.0.2.1'), port: 1 };
  return ipfixStream(10, 10).flatMap((message) => decoder.decode(message, exporter, 1n));
};

const newRegistry = (): Registry => createMetricsRegistry({ processMetrics: false });

describe('record publisher', () => {
  it('keeps at most maxQueuedRecords unacknowledged and counts what it drops', async () => {
    const producer = slowProducer();
    const registry = newRegistry();
    const metrics = collectorMetrics(registry);
    const publisher = createRecordPublisher(
      { topic: 't', maxQueuedRecords: 35, maxSendRecords: 20, maxRecordsPerMessage: 10 },
      { producer, log: silentLogger(), metrics },
    );
    const all = records();
    expect(all).toHaveLength(100);
    expect(publisher.publish(all.slice(0, 30))).toBe(30);
    expect(publisher.publish(all.slice(30, 60))).toBe(5);
    expect(publisher.queued()).toBe(35);
    await new Promise((resolve) => setImmediate(resolve));
    // Messages of at most maxRecordsPerMessage records, sent in chunks of at most maxSendRecords, keyed by
    // exporter, carrying the records in order.
    const recordsOf = (m: OutgoingMessage) => fromBinary(FlowRecordBatchSchema, m.value).records;
    expect(producer.sends.map((s) => s.messages.map((m) => recordsOf(m).length))).toEqual([
      [10, 10],
      [10, 5],
    ]);
    expect(producer.sends[0]!.messages[0]!.key).toBe('192.0.2.1');
    const bytes = (r: FlowRecord) => Buffer.from(toBinary(FlowRecordSchema, r)).toString('hex');
    expect(producer.sends.flatMap((s) => s.messages.flatMap(recordsOf)).map(bytes)).toEqual(
      all.slice(0, 35).map(bytes),
    );
    // Kafka still has not answered: everything new is dropped.
    expect(publisher.publish(all.slice(60))).toBe(0);
    expect(publisher.counts()).toEqual({ accepted: 35, published: 0, failed: 0, dropped: 65 });
    expect((await metrics.queueDropped.get()).values[0]?.value).toBe(65);

    // An acknowledgement frees room; a failure frees room and is counted.
    producer.sends[0]!.resolve();
    producer.sends[1]!.reject(new Error('broker down'));
    await publisher.flush();
    expect(publisher.queued()).toBe(0);
    expect(publisher.counts()).toEqual({ accepted: 35, published: 20, failed: 15, dropped: 65 });
    expect((await metrics.publishErrors.get()).values[0]?.value).toBe(15);
    expect(publisher.publish(all.slice(60, 70))).toBe(10);
  });

  it('never mixes exporters in one message', async () => {
    const producer = slowProducer();
    const publisher = createRecordPublisher(
      { topic: 't', maxQueuedRecords: 1000, maxSendRecords: 1000, maxRecordsPerMessage: 200 },
      { producer, log: silentLogger(), metrics: collectorMetrics(newRegistry()) },
    );
    const all = records().slice(0, 6);
    const other = parseIpAddress('2001:db8::9');
    for (const index of [2, 3, 5]) all[index] = { ...all[index]!, exporterAddress: other };
    publisher.publish(all);
    await new Promise((resolve) => setImmediate(resolve));
    const messages = producer.sends.flatMap((s) => s.messages);
    expect(messages.map((m) => [m.key, fromBinary(FlowRecordBatchSchema, m.value).records.length])).toEqual([
      ['192.0.2.1', 2],
      ['2001:db8::9', 2],
      ['192.0.2.1', 1],
      ['2001:db8::9', 1],
    ]);
    for (const send of producer.sends) send.resolve();
    await publisher.flush();
    expect(publisher.counts().published).toBe(6);
  });

  it('flush waits for every acknowledgement', async () => {
    const producer = slowProducer();
    const publisher = createRecordPublisher(
      { topic: 't', maxQueuedRecords: 1000, maxSendRecords: 1000, maxRecordsPerMessage: 200 },
      { producer, log: silentLogger(), metrics: collectorMetrics(newRegistry()) },
    );
    publisher.publish(records());
    let flushed = false;
    const flushing = publisher.flush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(flushed).toBe(false);
    producer.sends[0]!.resolve();
    await flushing;
    expect(publisher.counts().published).toBe(100);
  });
});

describe('origin AS enrichment in the collector', () => {
  it('fills AS numbers that are 0 from the lookup, over UDP', async () => {
    const producer = slowProducer();
    const registry = newRegistry();
    const collector = createFlowsCollector(testCollectorConfig(), {
      producer,
      log: silentLogger(),
      metrics: registry,
      originAs: createPrefixAsTable(['192.0.2.0/24=64500', '198.51.100.0/25=64501']),
    });
    await collector.start();
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    try {
      const port = collector.endpoints().find((e) => e.kind === 'ipfix')!.port;
      const [message] = ipfixStream(1, 4);
      await new Promise<void>((resolve, reject) =>
        socket.send(message!, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      const deadline = Date.now() + 5000;
      while (producer.sends.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const published = producer.sends.flatMap((s) =>
        s.messages.flatMap((m) => fromBinary(FlowRecordBatchSchema, m.value).records),
      );
      // testFlow: sources 192.0.2.1–4 (AS 64500), destinations 198.51.100.1–4 (AS 64501).
      expect(published.map((r) => [r.srcAs, r.dstAs])).toEqual(Array(4).fill([64500, 64501]));
      const enriched = await registry.getSingleMetric('kansoku_flows_collector_as_enriched_total')?.get();
      expect(enriched?.values.map((v) => [v.labels.side, v.value])).toEqual([
        ['src', 4],
        ['dst', 4],
      ]);
    } finally {
      socket.close();
      for (const send of producer.sends) send.resolve();
      await collector.stop();
    }
  });
});

describe('collector metrics', () => {
  it('exports the decoders counters per exporter: records, decode errors by code, templates, held sets', async () => {
    const producer = slowProducer();
    const registry = newRegistry();
    const collector = createFlowsCollector(testCollectorConfig(), {
      producer,
      log: silentLogger(),
      metrics: registry,
    });
    await collector.start();
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    const send = (message: Buffer, kind: 'ipfix' | 'netflow' | 'sflow') =>
      new Promise<void>((resolve, reject) =>
        socket.send(
          message,
          collector.endpoints().find((e) => e.kind === kind)!.port,
          '127.0.0.1',
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    try {
      const stream = ipfixStream(3, 5, 9);
      await send(stream[1]!, 'ipfix'); // data before its template: held
      await send(stream[0]!, 'ipfix'); // the template: the held set is decoded too
      await send(Buffer.from([0, 10, 0, 4, ...new Array<number>(12).fill(0)]), 'ipfix'); // IPFIX header, length 4
      await send(Buffer.from([0, 0, 0, 5, 0, 0, 0, 9]), 'sflow'); // sFlow with an unknown address type
      const deadline = Date.now() + 5000;
      const packets = () =>
        collector.netflowDecoder.stats().totals.packets + collector.sflowDecoder.stats().totals.datagrams;
      while (packets() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const value = async (name: string, labels: Record<string, string>) => {
        const metric = await registry.getSingleMetric(name)?.get();
        return metric?.values.find((v) => Object.entries(labels).every(([k, w]) => String(v.labels[k]) === w))
          ?.value;
      };
      const exporter = { protocol: 'netflow', exporter: '127.0.0.1' };
      expect(await value('kansoku_flows_records_decoded_total', exporter)).toBe(10);
      expect(await value('kansoku_flows_export_packets_total', exporter)).toBe(3);
      expect(await value('kansoku_flows_pending_sets_decoded_total', exporter)).toBe(1);
      expect(await value('kansoku_flows_templates_active', { exporter: '127.0.0.1' })).toBe(1);
      expect(
        await value('kansoku_flows_decode_errors_total', { ...exporter, code: 'KANSOKU_FLOW_BAD_LENGTH' }),
      ).toBe(1);
      const sflowErrors = await registry.getSingleMetric('kansoku_flows_decode_errors_total')?.get();
      expect(sflowErrors?.values.filter((v) => v.labels.protocol === 'sflow').map((v) => v.value)).toEqual([
        1,
      ]);
      expect(await value('kansoku_flows_exporters', { protocol: 'netflow' })).toBe(1);
    } finally {
      socket.close();
      for (const send of producer.sends) send.resolve();
      await collector.stop();
    }
  });
});
