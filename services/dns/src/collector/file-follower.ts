/**
 * Follows a log file as `tail -F` does: reads what is appended, notices rotation (the path now names
 * another file: the old one is read to its end first, then the new one from its start) and truncation
 * (the file got shorter: read again from its start), and waits for a file that does not exist yet.
 * Polls with stat (portable, works on every filesystem, and a resolver's log is written often enough that
 * a poll interval of a fraction of a second costs nothing).
 *
 * Lines are handed over whole; a partial last line waits for its newline (bounded: a "line" longer than
 * `maxLineBytes` is cut and counted).
 */

import { type FileHandle, open, stat } from 'node:fs/promises';

export interface FileFollowerConfig {
  path: string;
  /** Start at the end of an existing file (tail) or at its beginning. */
  fromStart: boolean;
  pollIntervalMs: number;
  maxLineBytes: number;
}

export interface FileFollowerStats {
  lines: number;
  bytes: number;
  rotations: number;
  truncations: number;
  longLines: number;
  /** Whether the file is open now. */
  open: boolean;
}

export interface FileFollower {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reads whatever is new now (the poll does it too); resolves when done. */
  poll(): Promise<void>;
  stats(): FileFollowerStats;
}

const CHUNK = 256 * 1024;

export function createFileFollower(
  config: FileFollowerConfig,
  onLine: (line: string) => void,
  onError: (error: unknown) => void = () => {},
): FileFollower {
  let handle: FileHandle | undefined;
  let inode = -1;
  let position = 0;
  let partial = '';
  let first = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const stats = { lines: 0, bytes: 0, rotations: 0, truncations: 0, longLines: 0 };
  const buffer = Buffer.alloc(CHUNK);

  const emitText = (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      stats.lines++;
      onLine(line);
    }
    if (partial.length > config.maxLineBytes) {
      stats.longLines++;
      stats.lines++;
      onLine(partial.slice(0, config.maxLineBytes));
      partial = '';
    }
  };

  const drain = async (h: FileHandle) => {
    for (;;) {
      const { bytesRead } = await h.read(buffer, 0, CHUNK, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      stats.bytes += bytesRead;
      emitText(buffer.toString('utf8', 0, bytesRead));
    }
  };

  const closeHandle = async () => {
    const h = handle;
    handle = undefined;
    await h?.close().catch(() => undefined);
  };

  const pollOnce = async () => {
    let current: { ino: number; size: number } | undefined;
    try {
      const s = await stat(config.path);
      current = { ino: s.ino, size: s.size };
    } catch {
      current = undefined; // absent (rotated away, not created yet): keep reading the old one if open
    }
    if (handle !== undefined && (current === undefined || current.ino !== inode)) {
      // Rotated: what was written to the old file before the move is read first.
      await drain(handle);
      if (current !== undefined) {
        stats.rotations++;
        await closeHandle();
        if (partial !== '') {
          stats.lines++;
          onLine(partial);
          partial = '';
        }
      }
    }
    if (current === undefined) return;
    if (handle === undefined) {
      handle = await open(config.path, 'r');
      inode = current.ino;
      // Only the file present at start is tailed from its end; a file appearing later is new: all of it.
      position = first && !config.fromStart ? current.size : 0;
      first = false;
    } else if (current.size < position) {
      stats.truncations++;
      position = 0;
      partial = '';
    }
    await drain(handle);
  };

  const poll = async () => {
    while (running !== undefined) await running;
    running = pollOnce()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
    await running;
  };

  const schedule = () => {
    timer = setTimeout(() => {
      void poll().then(() => {
        if (timer !== undefined) schedule();
      });
    }, config.pollIntervalMs);
  };

  return {
    async start() {
      await poll();
      first = false;
      schedule();
    },
    async stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await poll();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await closeHandle();
    },
    poll,
    stats: () => ({ ...stats, open: handle !== undefined }),
  };
}
