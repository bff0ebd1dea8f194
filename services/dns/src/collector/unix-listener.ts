/**
 * A unix stream socket server for local senders (a resolver on the same host writing dnstap to a socket
 * path). Kit's TCP listener binds addresses and ports; this is its small sibling for a path: bounded in
 * connections, removes a stale socket file left by a crash before binding, and on stop ends connections
 * (grace period, then destroy) and removes the file.
 */

import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '@kansoku/kit';

export interface UnixListenerConfig {
  path: string;
  maxConnections: number;
  gracePeriodMs: number;
}

export interface UnixListener {
  start(): Promise<void>;
  stop(): Promise<void>;
  activeConnections(): number;
}

export function createUnixListener(
  config: UnixListenerConfig,
  deps: { log: Pick<Logger, 'info' | 'warn'>; onConnection(socket: Socket): void; onRefused(): void },
): UnixListener {
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const removeStale = () => {
    try {
      if (lstatSync(config.path).isSocket()) unlinkSync(config.path);
    } catch {
      // Absent: nothing to remove. Anything else shows up as listen's error.
    }
  };

  return {
    async start() {
      removeStale();
      const s = createServer((socket) => {
        if (sockets.size >= config.maxConnections) {
          deps.onRefused();
          socket.on('error', () => {});
          socket.destroy();
          return;
        }
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', (error) => {
          deps.log.warn({ path: config.path, error: error.message }, 'unix socket connection error');
        });
        deps.onConnection(socket);
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.path, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('error', (error) =>
        deps.log.warn({ path: config.path, error: error.message }, 'unix server error'),
      );
      server = s;
      deps.log.info({ path: config.path }, 'unix socket listener started');
    },

    async stop() {
      const s = server;
      if (s === undefined) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      const open = [...sockets];
      const allClosed = Promise.all(
        open.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()))),
      );
      for (const socket of open) socket.end();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.gracePeriodMs);
        timer.unref();
      });
      if ((await Promise.race([allClosed, grace])) === 'timeout') {
        for (const socket of sockets) socket.destroy();
        await allClosed;
      }
      clearTimeout(timer);
      await closed;
      removeStale();
      deps.log.info({ path: config.path }, 'unix socket listener stopped');
    },

    activeConnections: () => sockets.size,
  };
}
