/**
 * The sending end of a bidirectional Frame Streams connection, as a resolver runs it: connect, READY with
 * the content type, wait for ACCEPT, START, data frames, and on close STOP and wait for FINISH. Used by the
 * simulator, the benchmark's load process and the tests to speak to the collector exactly as Unbound or
 * Knot would. Frames are copied into a chunk written per event-loop turn (one syscall for many frames);
 * `send` resolves, and `write` returns true, when the socket can take more: senders get backpressure.
 */

import { connect, type Socket } from 'node:net';
import {
  type ControlFrame,
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  FrameStreamError,
  FrameStreamParser,
} from './frame-streams.ts';

export type FrameStreamTarget = { host: string; port: number } | { path: string };

export interface FrameStreamSender {
  /** Queues one data frame; resolves at once unless the socket's buffer is full (then when it drains). */
  send(payload: Uint8Array): Promise<void>;
  /**
   * Queues one data frame (copied) without a promise, for tight loops; false when the socket's buffer is
   * full: await `drained()` before writing more.
   */
  write(payload: Uint8Array): boolean;
  drained(): Promise<void>;
  /** STOP, wait for FINISH (bounded by `timeoutMs`), close. */
  close(timeoutMs?: number): Promise<void>;
  /** Data frames sent. */
  sent(): number;
  socket: Socket;
}

/** Connects and completes the handshake; rejects if the receiver refuses or does not answer in time. */
export async function openFrameStreamSender(
  target: FrameStreamTarget,
  options: { contentType?: string; timeoutMs?: number } = {},
): Promise<FrameStreamSender> {
  const contentType = options.contentType ?? DNSTAP_CONTENT_TYPE;
  const timeoutMs = options.timeoutMs ?? 5000;
  const socket = connect('path' in target ? { path: target.path } : { host: target.host, port: target.port });
  socket.setNoDelay(true);
  const parser = new FrameStreamParser(1024);
  const controls: ControlFrame[] = [];
  const waiters: Array<() => void> = [];
  let failure: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    try {
      parser.push(chunk, {
        data: () => {
          throw new FrameStreamError('KANSOKU_FSTRM_UNEXPECTED_FRAME', 'receiver sent a data frame');
        },
        control: (frame) => controls.push(frame),
      });
    } catch (error) {
      failure = error as Error;
      socket.destroy();
    }
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', (error) => {
    failure = error;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    for (const w of waiters.splice(0)) w();
  });

  const nextControl = (type: number, what: string) =>
    new Promise<ControlFrame>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} from the receiver within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = () => {
        const found = controls.shift();
        if (found !== undefined) {
          clearTimeout(timer);
          if (found.type === type) resolve(found);
          else reject(new Error(`expected ${what}, got control type ${found.type}`));
          return;
        }
        if (failure !== undefined || socket.destroyed) {
          clearTimeout(timer);
          reject(failure ?? new Error(`connection closed before ${what}`));
          return;
        }
        waiters.push(check);
      };
      check();
    });

  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(encodeControlFrame(ControlType.READY, [contentType]));
  await nextControl(ControlType.ACCEPT, 'ACCEPT');
  socket.write(encodeControlFrame(ControlType.START, [contentType]));

  // Frames are copied into one chunk and written when it is full or once per event-loop turn: one write
  // per 256 KiB instead of two buffers and a write per frame.
  const CHUNK_BYTES = 256 * 1024;
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let scheduled = false;
  let count = 0;
  let writable = true;
  const flush = () => {
    scheduled = false;
    if (used === 0) return writable;
    writable = socket.write(chunk.subarray(0, used));
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
    return writable;
  };
  socket.on('drain', () => {
    writable = true;
  });
  const write = (payload: Uint8Array): boolean => {
    if (failure !== undefined) throw failure;
    const size = 4 + payload.length;
    if (used + size > CHUNK_BYTES) {
      flush();
      if (size > CHUNK_BYTES) {
        const big = Buffer.allocUnsafe(size);
        big.writeUInt32BE(payload.length, 0);
        big.set(payload, 4);
        writable = socket.write(big);
        count++;
        return writable;
      }
    }
    chunk.writeUInt32BE(payload.length, used);
    chunk.set(payload, used + 4);
    used += size;
    count++;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return writable;
  };

  return {
    socket,
    sent: () => count,
    write,
    drained: () =>
      writable ? Promise.resolve() : new Promise<void>((resolve) => socket.once('drain', () => resolve())),
    send(payload) {
      try {
        return write(payload)
          ? Promise.resolve()
          : new Promise((resolve) => socket.once('drain', () => resolve()));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async close(closeTimeoutMs = timeoutMs) {
      flush();
      if (!socket.destroyed) {
        socket.write(encodeControlFrame(ControlType.STOP));
        try {
          await Promise.race([
            nextControl(ControlType.FINISH, 'FINISH'),
            new Promise((_, reject) =>
              setTimeout(() => reject(new Error('FINISH timeout')), closeTimeoutMs).unref(),
            ),
          ]);
        } finally {
          socket.end();
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}
