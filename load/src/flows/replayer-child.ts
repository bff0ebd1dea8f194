/**
 * The UDP replayer's own process (forked by udp-replayer.ts): makes the packets, waits for `go`, sends them
 * at the paced rate to every target, then reports what it sent. Running apart keeps the sender off the
 * receiver's event loop (and, on a multi-core machine, off its core).
 */
import { createSocket, type Socket } from 'node:dgram';
import { packetsDue, totalPackets } from './pacing.ts';
import { makePacketSet } from './packets.ts';
import type { ReplayerMessage, ReplayerReport, ReplayOptions } from './udp-replayer.ts';

const TICK_MS = 1;

function send(socket: Socket, packet: Buffer, port: number, address: string): Promise<Error | null> {
  return new Promise((resolve) => socket.send(packet, port, address, (error) => resolve(error ?? null)));
}

async function bind(socket: Socket, address: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

async function replay(options: ReplayOptions): Promise<ReplayerReport> {
  const set = makePacketSet({
    protocol: options.protocol,
    packets: options.poolPackets,
    seed: options.seed,
    domainId: options.domainId,
  });
  const socket = createSocket('udp4');
  await bind(socket, options.sourceAddress);
  socket.setSendBufferSize(8 * 1024 * 1024);
  process.send?.({ type: 'ready' } satisfies ReplayerMessage);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  let errors = 0;
  let sentPackets = 0;
  let sentRecords = 0;
  const emit = (packet: Buffer) => {
    for (const target of options.targets) {
      socket.send(packet, target.port, target.address, (error) => {
        if (error) errors++;
      });
    }
  };
  // Templates first, acknowledged by the kernel before the timed part starts.
  for (const packet of set.setup) {
    for (const target of options.targets) {
      if (await send(socket, packet, target.port, target.address)) errors++;
    }
    sentRecords += set.recordsPerPacket;
  }
  await new Promise((resolve) => setTimeout(resolve, 200));

  const pacing = {
    recordsPerSecond: options.recordsPerSecond,
    recordsPerPacket: set.recordsPerPacket,
    maxBurstPackets: options.maxBurstPackets,
  };
  const total = totalPackets(pacing, options.seconds);
  const started = performance.now();
  let behindMs = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - started;
      const due = Math.min(packetsDue(pacing, elapsed, sentPackets), total - sentPackets);
      for (let i = 0; i < due; i++) {
        emit(set.data[sentPackets % set.data.length]!);
        sentPackets++;
      }
      const target = Math.min(
        total,
        Math.floor((elapsed * pacing.recordsPerSecond) / 1000 / pacing.recordsPerPacket),
      );
      if (target - sentPackets > pacing.maxBurstPackets) behindMs += TICK_MS;
      if (sentPackets >= total) resolve();
      else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const seconds = (performance.now() - started) / 1000;
  // Let the last sends' callbacks run.
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.close();
  sentRecords += sentPackets * set.recordsPerPacket;
  return {
    type: 'done',
    packets: sentPackets + set.setup.length,
    records: sentRecords,
    sendErrors: errors,
    seconds,
    achievedRecordsPerSecond: (sentPackets * set.recordsPerPacket) / seconds,
    behindMs,
  };
}

process.once('message', (message: ReplayerMessage) => {
  if (message.type !== 'start') return;
  replay(message.options).then(
    (report) => {
      process.send?.(report, () => process.exit(0));
    },
    (error: unknown) => {
      process.send?.({ type: 'error', message: error instanceof Error ? error.message : String(error) }, () =>
        process.exit(1),
      );
    },
  );
});
