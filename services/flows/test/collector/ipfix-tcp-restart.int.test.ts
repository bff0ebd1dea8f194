/**
 * IPFIX over TCP delivers the same records as over UDP; a bad message length closes the connection and is
 * counted; and a collector restart in the middle of a template-based stream loses no decodable record
 * (templates before the restart, data only after it), with the real Kafka broker in between.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpfixStreamErrorCode } from '../../src/collector/ipfix-stream.ts';
import {
  type KafkaHarness,
  kafkaHarness,
  metricValue,
  readTopic,
  sendTcp,
  sendUdp,
  startCollector,
  until,
} from './harness.ts';
import { ipfixStream, testFlow } from './ipfix-packets.ts';
import { sortedCanonical } from './records.ts';

const MESSAGES = 40;
const PER_MESSAGE = 25;

describe('flows collector: IPFIX over TCP and restarts', () => {
  let kafka: KafkaHarness;
  const dirs: string[] = [];

  beforeAll(async () => {
    kafka = await kafkaHarness();
  });
  afterAll(async () => {
    await kafka?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the same records for one IPFIX stream over TCP as over UDP', async () => {
    const stream = ipfixStream(MESSAGES, PER_MESSAGE);
    const expectedCount = MESSAGES * PER_MESSAGE;

    const udpTopic = await kafka.newTopic();
    const overUdp = await startCollector(kafka, udpTopic);
    await sendUdp(overUdp.port('ipfix'), stream);
    await until(
      'UDP stream decoded',
      () => overUdp.collector.netflowDecoder.stats().totals.packets >= MESSAGES,
    );
    await overUdp.collector.stop();

    const tcpTopic = await kafka.newTopic();
    const overTcp = await startCollector(kafka, tcpTopic);
    // The byte stream cut at arbitrary points: messages split across writes and merged into one.
    const bytes = Buffer.concat(stream);
    const chunks: Buffer[] = [];
    for (let at = 0, size = 7; at < bytes.length; at += size, size = (size * 3) % 1499) {
      chunks.push(bytes.subarray(at, at + size));
    }
    await sendTcp(overTcp.port('ipfix-tcp'), chunks);
    await until(
      'TCP stream decoded',
      () => overTcp.collector.netflowDecoder.stats().totals.packets >= MESSAGES,
    );
    await overTcp.collector.stop();

    const udp = await readTopic(udpTopic, expectedCount);
    const tcp = await readTopic(tcpTopic, expectedCount);
    expect(udp.records).toHaveLength(expectedCount);
    expect(tcp.records).toHaveLength(expectedCount);
    expect(sortedCanonical(tcp.records)).toEqual(sortedCanonical(udp.records));
    // The fields the test put in, read back.
    const byPort = new Map(tcp.records.map((r) => [r.srcPort, r]));
    for (const i of [0, 1, 517, expectedCount - 1]) {
      const flow = testFlow(i);
      const record = byPort.get(flow.srcPort);
      expect(record, `flow ${i}`).toMatchObject({
        dstPort: flow.dstPort,
        protocol: flow.protocol,
        bytes: BigInt(flow.bytes),
        packets: BigInt(flow.packets),
        observationDomainId: 1,
      });
      expect(formatIpAddress(record!.srcAddress)).toBe(flow.src.join('.'));
      expect(formatIpAddress(record!.exporterAddress)).toBe('127.0.0.1');
    }
    expect(tcp.messages.every((m) => m.key?.toString() === '127.0.0.1')).toBe(true);
  });

  it('closes a TCP connection whose message length is bad, after publishing the messages before it', async () => {
    const topic = await kafka.newTopic();
    const running = await startCollector(kafka, topic);
    const [first, second] = ipfixStream(2, 10);
    const bad = Buffer.from(second!);
    bad.writeUInt16BE(3, 2);
    const socket = connect({ host: '127.0.0.1', port: running.port('ipfix-tcp') });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(Buffer.concat([first!, bad]));
    await closed; // closed by the collector: the test never ends it
    await until('framing error counted', async () => {
      const n = await metricValue(running.registry, 'kansoku_flows_collector_tcp_framing_errors_total', {
        code: IpfixStreamErrorCode.BAD_LENGTH,
      });
      return n === 1;
    });
    await running.collector.stop();
    expect(running.collector.publisher.counts().published).toBe(10);
    expect((await readTopic(topic, 10)).records).toHaveLength(10);
  });

  it('loses no decodable record across a restart in the middle of a template-based stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kansoku-collector-'));
    dirs.push(dir);
    const stateFile = join(dir, 'templates.json');
    const topic = await kafka.newTopic();
    const stream = ipfixStream(MESSAGES, PER_MESSAGE);
    const half = MESSAGES / 2;

    // Only the first message carries the template.
    const before = await startCollector(kafka, topic, { stateFile });
    await sendUdp(before.port('ipfix'), stream.slice(0, half));
    await until('first half decoded', () => before.collector.netflowDecoder.stats().totals.packets >= half);
    await before.collector.stop();

    // A collector without the state would hold the data-only half, waiting for a template.
    const amnesiac = await startCollector(kafka, await kafka.newTopic());
    await sendUdp(amnesiac.port('ipfix'), stream.slice(half, half + 1));
    await until('data held', () => amnesiac.collector.netflowDecoder.stats().totals.packets >= 1);
    expect(amnesiac.collector.netflowDecoder.stats().exporters[0]).toMatchObject({
      records: 0,
      pendingSets: 1,
    });
    await amnesiac.collector.stop();

    const after = await startCollector(kafka, topic, { stateFile });
    await sendUdp(after.port('ipfix'), stream.slice(half));
    await until('second half decoded', () => after.collector.netflowDecoder.stats().totals.packets >= half);
    await after.collector.stop();
    expect(after.collector.netflowDecoder.stats().exporters[0]).toMatchObject({
      records: half * PER_MESSAGE,
      pendingSets: 0,
      pendingSetsDropped: 0,
    });
    expect(
      await metricValue(after.registry, 'kansoku_flows_collector_state_file_total', { outcome: 'loaded' }),
    ).toBe(1);

    const { records } = await readTopic(topic, MESSAGES * PER_MESSAGE);
    expect(records).toHaveLength(MESSAGES * PER_MESSAGE);
    expect(new Set(records.map((r) => r.srcPort)).size).toBe(MESSAGES * PER_MESSAGE);
  });
});
