/**
 * How many dnstap messages a second the collector takes, without Kafka in the way (the producer
 * acknowledges at once): the ceiling the dns-e2e benchmark can reach at best.
 *
 *   tsx services/dns/src/collector/throughput.ts [--mode decode|tcp] [--messages N] [--senders K]
 *
 * decode: frames → dnstap decode → pairing → DnsQuery encode, in one process, no sockets.
 * tcp:    K sender processes (this script re-run with --send) speak Frame Streams to a collector in this
 *         process over loopback TCP; counts records handed to the producer.
 * Prints one JSON line: messages (dnstap frames), records, seconds, messages_per_second.
 */

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { buildDnsQuery, buildDnsResponse } from '../decoders/dns-build.ts';
import { DnstapMessageType, encodeDnstap } from '../decoders/dnstap.ts';
import { DnstapQueryAssembler } from '../decoders/dnstap-queries.ts';
import { openFrameStreamSender } from '../decoders/fstrm-sender.ts';
import { createDnsCollector } from './collector.ts';
import { type DnsCollectorConfig, dnsCollectorSchema } from './config.ts';
import { encodeDnsQuery } from './dns-query-codec.ts';

/** Query and response frames of `n` exchanges from many clients, as a busy resolver writes them. */
export function exchangeFrames(n: number, offset = 0): Buffer[] {
  const frames: Buffer[] = [];
  const types = [1, 1, 1, 28, 28, 65, 12];
  for (let j = 0; j < n; j++) {
    const i = j + offset;
    const spec = {
      id: i & 0xffff,
      name: `host${i % 5000}.zone${i % 97}.example.jp.`,
      type: types[i % types.length]!,
      edns: { dnssecOk: i % 3 === 0 },
    };
    const client = Uint8Array.from([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]);
    const common = {
      socketFamily: 1,
      socketProtocol: 1,
      queryAddress: client,
      queryPort: 1024 + (i % 60000),
      responseAddress: Uint8Array.from([10, 255, 0, 53]),
      responsePort: 53,
    };
    const sec = 1_795_000_000 + Math.floor(i / 100_000);
    frames.push(
      encodeDnstap({
        identity: 'bench',
        message: {
          ...common,
          type: DnstapMessageType.CLIENT_QUERY,
          queryTimeSec: sec,
          queryTimeNsec: (i % 1000) * 1000,
          queryMessage: buildDnsQuery(spec),
        },
      }),
      encodeDnstap({
        identity: 'bench',
        message: {
          ...common,
          type: DnstapMessageType.CLIENT_RESPONSE,
          responseTimeSec: sec,
          responseTimeNsec: (i % 1000) * 1000 + 500_000,
          responseMessage: buildDnsResponse(spec, { answers: i % 3, rcode: i % 20 === 0 ? 3 : 0 }),
        },
      }),
    );
  }
  return frames;
}

async function decodeMode(messages: number): Promise<Record<string, number>> {
  const pool = exchangeFrames(50_000);
  let records = 0;
  let bytes = 0;
  const assembler = new DnstapQueryAssembler({ maxPending: 200_000, timeoutMs: 10_000 }, (r) => {
    records++;
    bytes += encodeDnsQuery(r).length;
  });
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < messages; i++) assembler.frame(pool[i % pool.length]!, 1n, 0);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    messages,
    records,
    encoded_bytes: bytes,
    seconds,
    messages_per_second: Math.round(messages / seconds),
    // On a shared machine the wall clock includes other processes' turns; CPU time does not.
    cpu_seconds: cpuSeconds,
    messages_per_cpu_second: Math.round(messages / cpuSeconds),
  };
}

async function tcpMode(messages: number, senders: number): Promise<Record<string, number>> {
  let records = 0;
  const producer = {
    async send(_topic: string, batch: unknown[]) {
      records += batch.length;
    },
  };
  const config = { ...(Value.Default(dnsCollectorSchema, {}) as DnsCollectorConfig), port: 0 };
  const collector = createDnsCollector(config, {
    producer,
    log: silentLogger(),
    metrics: createMetricsRegistry({ processMetrics: false }),
  });
  await collector.start();
  const perSender = Math.floor(messages / senders / 2) * 2;
  const script = fileURLToPath(import.meta.url);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from(
      { length: senders },
      (_, s) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(
            script,
            [
              '--send',
              String(collector.tcpPort()),
              '--messages',
              String(perSender),
              '--offset',
              String(s * 1_000_000),
            ],
            {
              execArgv: ['--import', 'tsx'],
            },
          );
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sender exited ${code}`))));
        }),
    ),
  );
  const expected = (perSender / 2) * senders;
  while (records < expected) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await collector.stop();
  const sent = perSender * senders;
  return {
    messages: sent,
    records,
    seconds,
    messages_per_second: Math.round(sent / seconds),
    collector_cpu_seconds: cpuSeconds,
    messages_per_collector_cpu_second: Math.round(sent / cpuSeconds),
  };
}

async function send(port: number, messages: number, offset: number): Promise<void> {
  const pool = exchangeFrames(Math.min(messages / 2, 50_000), offset);
  const sender = await openFrameStreamSender({ host: '127.0.0.1', port });
  for (let i = 0; i < messages; i++) {
    if (!sender.write(pool[i % pool.length]!)) await sender.drained();
  }
  await sender.close(60_000);
  const cpu = process.cpuUsage();
  process.stderr.write(
    `${JSON.stringify({ sender_cpu_seconds: (cpu.user + cpu.system) / 1e6, messages })}\n`,
  );
}

const script = process.argv[1];
if (script !== undefined && fileURLToPath(import.meta.url) === script) {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'decode' },
      messages: { type: 'string', default: '2000000' },
      senders: { type: 'string', default: '1' },
      send: { type: 'string' },
      offset: { type: 'string', default: '0' },
    },
  });
  if (values.send !== undefined) {
    await send(Number(values.send), Number(values.messages), Number(values.offset));
  } else {
    const result =
      values.mode === 'tcp'
        ? await tcpMode(Number(values.messages), Number(values.senders))
        : await decodeMode(Number(values.messages));
    process.stdout.write(`${JSON.stringify({ mode: values.mode, ...result })}\n`);
  }
}
