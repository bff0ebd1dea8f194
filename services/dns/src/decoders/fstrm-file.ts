/**
 * Unidirectional Frame Streams files (`.fstrm`, written by `dnstap -w`, `fstrm_capture`, resolvers'
 * file output): START with the content type, data frames, STOP. Read as a stream of chunks so a large
 * file is never held whole; a file cut short after its last complete frame (a resolver still writing, or
 * killed) yields every complete frame and then reports that it ended without STOP.
 */

import { createReadStream } from 'node:fs';
import {
  DNSTAP_CONTENT_TYPE,
  FrameStreamError,
  FrameStreamParser,
  ReceiverSession,
} from './frame-streams.ts';

/** Whether `head` (the first bytes of a file) opens a Frame Streams file: an escape and a START frame. */
export function looksLikeFstrm(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  return view.readUInt32BE(0) === 0 && view.readUInt32BE(4) <= 512 && view.readUInt32BE(8) === 2;
}

export interface FstrmReadOptions {
  contentType?: string;
  maxFrameBytes?: number;
  /** Called after each chunk with the bytes read so far (progress bars). */
  onBytes?: (bytesRead: number) => void;
}

export interface FstrmReadResult {
  /** STOP was read: the file is complete. */
  stopped: boolean;
  frames: number;
}

/**
 * Reads the data frames of a Frame Streams file, calling `onFrame` for each (a view, valid during the
 * call). Throws FrameStreamError for a file that is not Frame Streams of the content type.
 */
export async function readFstrmFile(
  path: string,
  onFrame: (payload: Buffer) => void | Promise<void>,
  options: FstrmReadOptions = {},
): Promise<FstrmReadResult> {
  const parser = new FrameStreamParser(options.maxFrameBytes ?? 16 * 1024 * 1024);
  const frames: Buffer[] = [];
  const session = new ReceiverSession({
    contentType: options.contentType ?? DNSTAP_CONTENT_TYPE,
    onData: (payload) => frames.push(payload),
  });
  let bytesRead = 0;
  let count = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    const buf = chunk as Buffer;
    parser.push(buf, session);
    bytesRead += buf.length;
    for (const frame of frames) {
      count++;
      await onFrame(frame);
    }
    frames.length = 0;
    options.onBytes?.(bytesRead);
  }
  if (session.state === 'opening')
    throw new FrameStreamError(
      'KANSOKU_FSTRM_TRUNCATED',
      `${path}: no START frame (empty or not Frame Streams)`,
    );
  return { stopped: session.state === 'stopped', frames: count };
}

/** The data frames of a Frame Streams file held in memory (tests, fuzzing); throws FrameStreamError. */
export function readFstrmBuffer(
  data: Buffer,
  options: { contentType?: string; maxFrameBytes?: number } = {},
): {
  frames: Buffer[];
  stopped: boolean;
} {
  const parser = new FrameStreamParser(options.maxFrameBytes ?? 16 * 1024 * 1024);
  const frames: Buffer[] = [];
  const session = new ReceiverSession({
    contentType: options.contentType ?? DNSTAP_CONTENT_TYPE,
    onData: (payload) => frames.push(payload),
  });
  parser.push(data, session);
  if (session.state === 'opening')
    throw new FrameStreamError('KANSOKU_FSTRM_TRUNCATED', 'no START frame (empty or not Frame Streams)');
  return { frames, stopped: session.state === 'stopped' };
}
