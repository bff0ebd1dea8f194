/**
 * Every public NetFlow v5/v9, IPFIX and sFlow capture replayed over UDP to a running collector (each
 * datagram to the listener its version belongs on), read back from a real Kafka topic, and compared with
 * what the decoders give for the same datagrams directly: same number of records, same fields.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { tryDecodePacket } from '@kansoku/kit/pcap/packet';
import { readPcapFile } from '@kansoku/kit/pcap/reader';
import { captureFiles, capturesPresent, capturesRoot } from '@kansoku/kit/testing/captures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetflowDecoder } from '../../src/decoders/netflow/index.ts';
import { createSflowDecoder } from '../../src/decoders/sflow/index.ts';
import {
  type KafkaHarness,
  kafkaHarness,
  listenerFor,
  readTopic,
  sendUdp,
  startCollector,
  until,
} from './harness.ts';
import { sortedCanonical } from './records.ts';

const present = capturesPresent('flows');
if (!present) {
  console.warn(
    `flow captures not found at ${join(capturesRoot(), 'flows')} (set KANSOKU_CAPTURES): collector replay skipped`,
  );
}
const files = captureFiles('flows', /^(netflow|sflow)-.*\.pcap$|__traffic-\d+\.pcap$/);
const LOCALHOST = parseIpAddress('127.0.0.1');

/** `X-data.pcap` is fed after its `X-template(s)` and options companions, as the names pair them. */
function withCompanions(name: string): string[] {
  const all = new Set(files);
  const match = /^(.*)-data\.pcap$/.exec(name);
  if (match === null) return [name];
  const base = match[1]!;
  const companions = [
    `${base}-options-template.pcap`,
    `${base}-options-data.pcap`,
    `${base}-template.pcap`,
    `${base}-templates.pcap`,
  ].filter((candidate) => all.has(candidate));
  return [...companions, name];
}

async function exportPayloads(names: string[]): Promise<Buffer[]> {
  const payloads: Buffer[] = [];
  for (const name of names) {
    for await (const frame of readPcapFile(join(capturesRoot(), 'flows', name))) {
      const decoded = tryDecodePacket(frame.linkType, frame.data);
      if (decoded.ok && decoded.packet.kind === 'udp') payloads.push(Buffer.from(decoded.packet.payload));
    }
  }
  return payloads;
}

/** What the decoders give for the payloads directly, the exporter being 127.0.0.1 as for the collector. */
function decodeDirectly(payloads: Buffer[]): FlowRecord[] {
  const netflow = createNetflowDecoder();
  const sflow = createSflowDecoder();
  const records: FlowRecord[] = [];
  const now = BigInt(Date.now()) * 1_000_000n;
  for (const payload of payloads) {
    const kind = listenerFor(payload);
    const source = { address: LOCALHOST, port: 40_000 };
    if (kind === 'sflow') records.push(...sflow.decode(payload, source, now).records);
    else if (kind !== undefined) records.push(...netflow.decode(payload, source, now));
  }
  return records;
}

describe.skipIf(!present)('collector replay of the public captures', () => {
  let kafka: KafkaHarness;

  beforeAll(async () => {
    kafka = await kafkaHarness();
  });
  afterAll(async () => {
    await kafka?.close();
  });

  it('publishes exactly what the decoders decode, for every capture', async () => {
    expect(files.length).toBeGreaterThan(20);
    const topic = await kafka.newTopic();
    const expected: FlowRecord[] = [];
    const perFile: string[] = [];
    // Data-only captures go with their templates; their companions are not replayed on their own as well.
    const companionsOnly = new Set(files.flatMap((f) => withCompanions(f).slice(0, -1)));
    for (const file of files.filter((f) => !companionsOnly.has(f))) {
      const payloads = await exportPayloads(withCompanions(file));
      const direct = decodeDirectly(payloads);
      expected.push(...direct);
      perFile.push(`${file}: ${direct.length}`);
      // A fresh collector per capture: captures reuse exporter addresses and template ids.
      const running = await startCollector(kafka, topic);
      const sendable = payloads.filter((p) => listenerFor(p) !== undefined);
      const byKind = new Map<string, Buffer[]>();
      for (const payload of sendable) {
        const kind = listenerFor(payload)!;
        // Ordering matters within one exporter's stream (templates before data): one listener per capture in
        // practice; a capture mixing versions is sent in its own order to each listener.
        byKind.set(kind, [...(byKind.get(kind) ?? []), payload]);
      }
      for (const [kind, list] of byKind) await sendUdp(running.port(kind as 'netflow'), list);
      await until(`${file}: ${sendable.length} datagrams decoded`, () => {
        const n = running.collector.netflowDecoder.stats().totals.packets;
        const s = running.collector.sflowDecoder.stats().totals.datagrams;
        return n + s >= sendable.length;
      });
      await running.collector.stop();
      expect(running.collector.publisher.counts(), file).toMatchObject({
        accepted: direct.length,
        published: direct.length,
        dropped: 0,
        failed: 0,
      });
    }
    expect(expected.length).toBeGreaterThan(200);

    const { records, messages, messageOfRecord } = await readTopic(topic, expected.length);
    expect(records.length, perFile.join('\n')).toBe(expected.length);
    expect(sortedCanonical(records)).toEqual(sortedCanonical(expected));
    // Keyed by exporter: 127.0.0.1 for NetFlow/IPFIX (the UDP source), the agent for sFlow; every record of a
    // message has its message's exporter.
    expect(messages.length).toBeLessThan(records.length);
    for (const [index, record] of records.entries()) {
      expect(messages[messageOfRecord[index]!]!.key?.toString()).toBe(
        formatIpAddress(record.exporterAddress),
      );
    }
    // A sample of fields read off the packets with tshark (netflow-nfv5.pcap, first record).
    if (files.includes('netflow-nfv5.pcap')) {
      const first = records.find((r) => r.srcPort === 30104 && r.dstPort === 11963);
      expect(first).toMatchObject({
        protocol: 6,
        rawBytes: 133n,
        srcAs: 36351,
        dstAs: 10101,
        inInterface: 117,
      });
      expect(formatIpAddress(first!.srcAddress)).toBe('161.202.212.212');
      expect(formatIpAddress(first!.exporterAddress)).toBe('127.0.0.1');
    }
  });

  it('decodes data-only captures sent after a restart with the templates of the captures sent before it', async () => {
    const pairs = files.filter(
      (f) => f.endsWith('-data.pcap') && !f.endsWith('-options-data.pcap') && withCompanions(f).length > 1,
    );
    expect(pairs.length).toBeGreaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), 'kansoku-collector-'));
    try {
      const topic = await kafka.newTopic();
      const expected: FlowRecord[] = [];
      for (const file of pairs) {
        const stateFile = join(dir, `${file}.json`);
        const companions = await exportPayloads(withCompanions(file).slice(0, -1));
        const data = await exportPayloads([file]);
        // What the data capture gives when its companions came first, from one decoder.
        const all = decodeDirectly([...companions, ...data]);
        const fromData = all.slice(decodeDirectly(companions).length);
        expect(fromData.length, file).toBeGreaterThan(0);
        expected.push(...fromData);

        const before = await startCollector(kafka, await kafka.newTopic(), { stateFile });
        for (const payload of companions) await sendUdp(before.port(listenerFor(payload)!), [payload]);
        await until(
          `${file}: templates decoded`,
          () => before.collector.netflowDecoder.stats().totals.packets >= companions.length,
        );
        await before.collector.stop();

        const after = await startCollector(kafka, topic, { stateFile });
        for (const payload of data) await sendUdp(after.port(listenerFor(payload)!), [payload]);
        await until(
          `${file}: data decoded`,
          () => after.collector.netflowDecoder.stats().totals.packets >= data.length,
        );
        await after.collector.stop();
        expect(after.collector.publisher.counts().published, file).toBe(fromData.length);
      }
      const { records } = await readTopic(topic, expected.length);
      // Same records, sampling rates from restored options data included, as one decoder that never restarted.
      expect(sortedCanonical(records)).toEqual(sortedCanonical(expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
