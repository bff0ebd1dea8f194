/**
 * The BMP router of the bgp-full-table benchmark, in a process of its own (forked by the benchmark): builds the
 * synthetic table and its BMP messages, waits for `go`, connects to the station and writes them as fast as TCP
 * takes them (respecting back-pressure), reports `sent`, then keeps the session open (closing it would make the
 * station emit Peer Down and the processor drop the table) until the parent disconnects.
 */

import { connect } from 'node:net';
import { endOfRib, groupUpdate, initiation, peerUp, routeMonitoring } from './full-table-bmp.ts';
import { syntheticFullTable } from './full-table-synthetic.ts';

export interface SenderOptions {
  host: string;
  port: number;
  ipv4Routes: number;
  ipv6Routes: number;
  seed: number;
}

export type SenderMessage =
  | { type: 'start'; options: SenderOptions }
  | { type: 'ready'; routes: number; bytes: number; messages: number }
  | { type: 'go' }
  | { type: 'sent'; startedAtMs: number; finishedAtMs: number }
  | { type: 'error'; message: string };

const send = (message: SenderMessage) => process.send?.(message);

process.once('message', (first: SenderMessage) => {
  if (first.type !== 'start') return;
  const { options } = first;
  try {
    const groups = syntheticFullTable({
      ipv4Routes: options.ipv4Routes,
      ipv6Routes: options.ipv6Routes,
      seed: options.seed,
    });
    const peer = {
      address: Uint8Array.of(198, 51, 100, 1),
      asn: 64_496,
      bgpId: Uint8Array.of(198, 51, 100, 1),
      localAddress: Uint8Array.of(192, 0, 2, 1),
      localAsn: 64_500,
    };
    const now = Date.now();
    // Buffers of ~1 MB, so the socket is written in large pieces.
    const chunks: Buffer[] = [];
    let pending: Buffer[] = [initiation('bench-router'), peerUp(peer, now)];
    let pendingBytes = 0;
    let messages = 2;
    let routes = 0;
    for (const group of groups) {
      const message = routeMonitoring(peer, now, groupUpdate(group));
      pending.push(message);
      pendingBytes += message.length;
      messages++;
      routes += group.prefixes.length;
      if (pendingBytes >= 1 << 20) {
        chunks.push(Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
    for (const eor of endOfRib()) pending.push(routeMonitoring(peer, now, eor));
    chunks.push(Buffer.concat(pending));
    const bytes = chunks.reduce((s, c) => s + c.length, 0);
    send({ type: 'ready', routes, bytes, messages });
    process.once('message', () => {
      const socket = connect({ host: options.host, port: options.port }, async () => {
        const startedAtMs = Date.now();
        for (const chunk of chunks) {
          if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
        }
        send({ type: 'sent', startedAtMs, finishedAtMs: Date.now() });
      });
      socket.on('error', (error) => send({ type: 'error', message: error.message }));
      socket.on('close', () => send({ type: 'error', message: 'the station closed the connection' }));
      process.on('disconnect', () => {
        socket.end();
        process.exit(0);
      });
    });
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
