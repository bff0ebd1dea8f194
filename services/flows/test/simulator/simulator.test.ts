import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { silentLogger } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createNetflowDecoder } from '../../src/decoders/netflow/index.ts';
import { createSflowDecoder } from '../../src/decoders/sflow/index.ts';
import { timeOfDayLevel } from '../../src/simulator/profile.ts';
import { createFlowsSimulator } from '../../src/simulator/simulator.ts';

async function listen(): Promise<{
  socket: Socket;
  port: number;
  datagrams: { buf: Buffer; from: string }[];
}> {
  const socket = createSocket('udp4');
  const datagrams: { buf: Buffer; from: string }[] = [];
  socket.on('message', (buf, rinfo) => datagrams.push({ buf, from: rinfo.address }));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, datagrams };
}

const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

describe('report-shaped time of day', () => {
  const weekday = 3;
  const at = (h: number) => timeOfDayLevel(weekday, h);
  it('has three weekday peaks with lunch the highest and a sharp drop after 23:30', () => {
    const morning = Math.max(...[7, 7.5, 8, 8.5].map(at));
    const lunch = Math.max(...[12, 12.25, 12.5].map(at));
    const evening = Math.max(...[18, 18.5, 19].map(at));
    expect(lunch).toBeGreaterThan(morning);
    expect(lunch).toBeGreaterThan(evening);
    expect(morning).toBeGreaterThan(at(10));
    expect(lunch).toBeGreaterThan(at(10));
    expect(at(23.9)).toBeLessThan(at(23.4) * 0.8);
    expect(at(4)).toBeLessThan(at(10) / 3);
  });
  it('has a smaller lunch peak and no daytime decline at weekends', () => {
    expect(timeOfDayLevel(6, 12.25)).toBeLessThan(at(12.25));
    expect(timeOfDayLevel(6, 15)).toBeGreaterThanOrEqual(timeOfDayLevel(6, 10));
  });
});

describe('flows simulator', () => {
  it('sends NetFlow v9, IPFIX and sFlow that decode completely, shaped like the report', async () => {
    const netflow = await listen();
    const ipfix = await listen();
    const sflow = await listen();
    const total = 12_000;
    const simulator = createFlowsSimulator(
      {
        target: '127.0.0.1',
        netflowPort: netflow.port,
        ipfixPort: ipfix.port,
        sflowPort: sflow.port,
        rate: 40_000,
        speed: 1,
        startMs: Date.UTC(2026, 9, 7, 3, 0),
        exporters: 2,
        seed: 7,
        maxRecords: total,
      },
      { log: silentLogger() },
    );
    await simulator.start();
    await simulator.done();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = simulator.sent();
    await simulator.stop();
    for (const l of [netflow, ipfix, sflow]) l.socket.close();

    const records: FlowRecord[] = [];
    const nf = createNetflowDecoder();
    for (const { buf, from } of [...netflow.datagrams, ...ipfix.datagrams]) {
      records.push(...nf.decode(buf, { address: v4(from), port: 0 }, 0n));
    }
    const sf = createSflowDecoder();
    for (const { buf, from } of sflow.datagrams)
      records.push(...sf.decode(buf, { address: v4(from), port: 0 }, 0n).records);

    expect(netflow.datagrams.length).toBe(sent['netflow-v9'].packets);
    expect(ipfix.datagrams.length).toBe(sent.ipfix.packets);
    expect(sflow.datagrams.length).toBe(sent.sflow.packets);
    expect(records.length).toBe(total);
    expect(sent['netflow-v9'].records + sent.ipfix.records + sent.sflow.records).toBe(total);

    // Distinct exporters: two per protocol, each from its own loopback address (sFlow: its agent address).
    expect(new Set(records.map((r) => formatIpAddress(r.exporterAddress))).size).toBe(6);

    // Fig. 6: IPv6 about 4% of bytes (NetFlow/IPFIX records carry unsampled bytes).
    const exported = records.filter((r) => r.samplingRate <= 1);
    const bytes = (pred: (r: FlowRecord) => boolean) =>
      exported.filter(pred).reduce((n, r) => n + Number(r.bytes), 0);
    const v6Share = bytes((r) => r.ipVersion === 2) / bytes(() => true);
    expect(v6Share).toBeGreaterThan(0.025);
    expect(v6Share).toBeLessThan(0.06);

    // Fig. 8: for IPv4 the first source AS leads, the second has about half its bytes.
    const byAs = new Map<number, number>();
    for (const r of exported.filter((r) => r.ipVersion === 1))
      byAs.set(r.srcAs, (byAs.get(r.srcAs) ?? 0) + Number(r.bytes));
    const ranked = [...byAs.entries()].sort((a, b) => b[1] - a[1]);
    expect(ranked[0]?.[0]).toBe(64496);
    const ratio = (ranked[1]?.[1] ?? 0) / (ranked[0]?.[1] ?? 1);
    expect(ratio).toBeGreaterThan(0.35);
    expect(ratio).toBeLessThan(0.65);

    // Fig. 10: HTTPS leads the IPv4 mix; application names come from protocol and port.
    const byApp = new Map<string, number>();
    for (const r of exported.filter((r) => r.ipVersion === 1)) {
      byApp.set(r.applicationName, (byApp.get(r.applicationName) ?? 0) + Number(r.bytes));
    }
    const apps = [...byApp.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
    expect(apps[0]).toBe('HTTPS');
    expect(apps.indexOf('HTTP')).toBeLessThan(apps.indexOf('QUIC'));

    // Flow times are the simulated clock's (2026-10-07 03:00 UTC = 12:00 in Tokyo), not the wall clock's.
    const ipfixRecord = records.find((r) => r.flowProtocol === 3)!;
    const endMs = Number(ipfixRecord.timeFlowEndNs / 1_000_000n);
    expect(Math.abs(endMs - Date.UTC(2026, 9, 7, 3, 0))).toBeLessThan(5_000);
  });
});
