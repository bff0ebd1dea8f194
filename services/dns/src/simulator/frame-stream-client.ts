/**
 * The sending side of Frame Streams (fstrm) in bidirectional mode, as resolvers speak it to a dnstap
 * collector: READY (content type) → wait for ACCEPT → START → data frames → STOP → wait for FINISH. Frames are
 * a 4-byte big-endian length and the payload; a control frame is an escape (length 0), its own length, its
 * type and content-type fields. Backpressure: `send` resolves when the socket wants more.
 */
import { connect, type Socket } from 'node:net';
import { KansokuError } from '@kansoku/kit';

export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
const CONTROL = { ACCEPT: 1, START: 2, STOP: 3, READY: 4, FINISH: 5 } as const;
const FIELD_CONTENT_TYPE = 1;

export type FrameStreamTarget = { host: string; port: number } | { path: string };

export class FrameStreamClientError extends KansokuError {}

export function controlFrame(type: number, contentType?: string): Buffer {
  const field = contentType === undefined ? Buffer.alloc(0) : Buffer.from(contentType);
  const fields = contentType === undefined ? 0 : 8 + field.length;
  const out = Buffer.alloc(12 + fields);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(4 + fields, 4);
  out.writeUInt32BE(type, 8);
  if (contentType !== undefined) {
    out.writeUInt32BE(FIELD_CONTENT_TYPE, 12);
    out.writeUInt32BE(field.length, 16);
    field.copy(out, 20);
  }
  return out;
}

/** Data frames of many payloads in one buffer (one write for a batch). */
export function dataFrames(payloads: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const p of payloads) size += 4 + p.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, o);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

export interface FrameStreamClient {
  /** Writes already framed bytes (see `dataFrames`); resolves when the socket is ready for more. */
  write(frames: Buffer): Promise<void>;
  /** STOP, wait for FINISH (up to `timeoutMs`), close. */
  close(timeoutMs?: number): Promise<void>;
  readonly socket: Socket;
}

/** Connects and completes the handshake; rejects if the collector does not ACCEPT within `timeoutMs`. */
export async function openFrameStreamClient(
  target: FrameStreamTarget,
  timeoutMs = 5000,
): Promise<FrameStreamClient> {
  const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host);
  socket.setNoDelay(false);
  let received = Buffer.alloc(0);
  const waiters: { type: number; resolve: () => void }[] = [];
  let failure: Error | undefined;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 8 && received.readUInt32BE(0) === 0) {
      const length = received.readUInt32BE(4);
      if (received.length < 8 + length) break;
      const type = length >= 4 ? received.readUInt32BE(8) : 0;
      received = received.subarray(8 + length);
      const i = waiters.findIndex((w) => w.type === type);
      if (i >= 0) waiters.splice(i, 1)[0]?.resolve();
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', (error) => {
    failure = error;
  });
  const expect = (type: number, what: string, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new FrameStreamClientError('KANSOKU_FSTRM_TIMEOUT', `no ${what} within ${ms} ms`)),
        ms,
      );
      waiters.push({
        type,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void closed.then(() => {
        clearTimeout(timer);
        reject(
          new FrameStreamClientError(
            'KANSOKU_FSTRM_CLOSED',
            `connection closed before ${what}${failure ? `: ${failure.message}` : ''}`,
          ),
        );
      });
    });

  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const accepted = expect(CONTROL.ACCEPT, 'ACCEPT', timeoutMs);
  socket.write(controlFrame(CONTROL.READY, DNSTAP_CONTENT_TYPE));
  try {
    await accepted;
  } catch (error) {
    socket.destroy();
    throw error;
  }
  socket.write(controlFrame(CONTROL.START, DNSTAP_CONTENT_TYPE));

  return {
    socket,
    async write(frames) {
      if (failure) throw failure;
      if (!socket.write(frames)) {
        await new Promise<void>((resolve, reject) => {
          socket.once('drain', resolve);
          void closed.then(() =>
            reject(failure ?? new FrameStreamClientError('KANSOKU_FSTRM_CLOSED', 'connection closed')),
          );
        });
      }
    },
    async close(timeoutMs = 5000) {
      if (socket.destroyed) return;
      const finished = expect(CONTROL.FINISH, 'FINISH', timeoutMs);
      socket.write(controlFrame(CONTROL.STOP));
      try {
        await finished;
      } finally {
        socket.end();
        socket.destroy();
      }
    },
  };
}
