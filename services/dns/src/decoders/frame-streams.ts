/**
 * Frame Streams (the fstrm transport dnstap rides on): a stream of frames, each a 4-byte big-endian length
 * and that many bytes. A length of 0 escapes a control frame: its own 4-byte length, a 4-byte control type
 * and fields (CONTENT_TYPE = 1: 4-byte length, then the content type string).
 *
 *   bidirectional (sockets): sender READY(types) → receiver ACCEPT(type) → sender START(type), data…,
 *                            STOP → receiver FINISH
 *   unidirectional (files, some senders): START(type), data…, STOP
 *
 * The parser is incremental (bytes arrive in any split) and bounded: a data frame longer than
 * `maxFrameBytes` or a control frame longer than 512 bytes is an error, so a sender cannot make the
 * receiver buffer without limit. The session enforces the order of control frames.
 */

import { KansokuError } from '@kansoku/kit';

export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';

export const ControlType = { ACCEPT: 1, START: 2, STOP: 3, READY: 4, FINISH: 5 } as const;

const CONTROL_FIELD_CONTENT_TYPE = 1;
/** The control frame size limit libfstrm uses; real ones are a few dozen bytes. */
export const MAX_CONTROL_FRAME_BYTES = 512;
const MAX_CONTENT_TYPE_BYTES = 256;

export type FrameStreamErrorCode =
  | 'KANSOKU_FSTRM_FRAME_TOO_LARGE'
  | 'KANSOKU_FSTRM_BAD_CONTROL'
  | 'KANSOKU_FSTRM_UNEXPECTED_FRAME'
  | 'KANSOKU_FSTRM_CONTENT_TYPE'
  | 'KANSOKU_FSTRM_TRUNCATED';

export class FrameStreamError extends KansokuError {
  declare readonly code: FrameStreamErrorCode;

  constructor(code: FrameStreamErrorCode, message: string) {
    super(code, message);
  }
}

export interface ControlFrame {
  type: number;
  contentTypes: string[];
}

export interface FrameSink {
  data(payload: Buffer): void;
  control(frame: ControlFrame): void;
}

/** Lower-case name of a control type, for logs. */
export function controlTypeName(type: number): string {
  for (const [name, value] of Object.entries(ControlType)) if (value === type) return name;
  return `type-${type}`;
}

/** Parses a control frame's body (after its length word). */
export function parseControlFrame(body: Buffer): ControlFrame {
  if (body.length < 4)
    throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', `control frame of ${body.length} bytes`);
  const type = body.readUInt32BE(0);
  if (type < ControlType.ACCEPT || type > ControlType.FINISH)
    throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', `unknown control type ${type}`);
  const contentTypes: string[] = [];
  let pos = 4;
  while (pos < body.length) {
    if (pos + 8 > body.length)
      throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', 'control field header runs past the frame');
    const fieldType = body.readUInt32BE(pos);
    const length = body.readUInt32BE(pos + 4);
    pos += 8;
    if (length > body.length - pos)
      throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', 'control field runs past the frame');
    if (fieldType !== CONTROL_FIELD_CONTENT_TYPE)
      throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', `unknown control field ${fieldType}`);
    if (length > MAX_CONTENT_TYPE_BYTES)
      throw new FrameStreamError('KANSOKU_FSTRM_BAD_CONTROL', `content type of ${length} bytes`);
    contentTypes.push(body.toString('latin1', pos, pos + length));
    pos += length;
  }
  return { type, contentTypes };
}

/** Incremental frame parser: push() bytes as they come, frames go to the sink. */
export class FrameStreamParser {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes held waiting for the rest of a frame. */
  buffered(): number {
    return this.pending.length;
  }

  /** Feeds bytes; calls the sink for every complete frame. Throws FrameStreamError (the stream is then dead). */
  push(chunk: Buffer, sink: FrameSink): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    const end = buf.length;
    for (;;) {
      if (pos + 4 > end) break;
      const length = buf.readUInt32BE(pos);
      if (length === 0) {
        if (pos + 8 > end) break;
        const controlLength = buf.readUInt32BE(pos + 4);
        if (controlLength > MAX_CONTROL_FRAME_BYTES)
          throw new FrameStreamError(
            'KANSOKU_FSTRM_FRAME_TOO_LARGE',
            `control frame of ${controlLength} bytes (at most ${MAX_CONTROL_FRAME_BYTES})`,
          );
        if (pos + 8 + controlLength > end) break;
        sink.control(parseControlFrame(buf.subarray(pos + 8, pos + 8 + controlLength)));
        pos += 8 + controlLength;
        continue;
      }
      if (length > this.maxFrameBytes)
        throw new FrameStreamError(
          'KANSOKU_FSTRM_FRAME_TOO_LARGE',
          `data frame of ${length} bytes (at most ${this.maxFrameBytes})`,
        );
      if (pos + 4 + length > end) break;
      sink.data(buf.subarray(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    // Copy the remainder: `chunk` may be a view into a pooled buffer the socket reuses.
    this.pending = pos === end ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
  }
}

/** A control frame on the wire (escape, length, type, content type fields). */
export function encodeControlFrame(type: number, contentTypes: readonly string[] = []): Buffer {
  const fields = contentTypes.map((t) => Buffer.from(t, 'latin1'));
  const bodyLength = 4 + fields.reduce((sum, f) => sum + 8 + f.length, 0);
  const out = Buffer.alloc(8 + bodyLength);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(bodyLength, 4);
  out.writeUInt32BE(type, 8);
  let pos = 12;
  for (const field of fields) {
    out.writeUInt32BE(CONTROL_FIELD_CONTENT_TYPE, pos);
    out.writeUInt32BE(field.length, pos + 4);
    field.copy(out, pos + 8);
    pos += 8 + field.length;
  }
  return out;
}

/** A data frame on the wire. */
export function encodeDataFrame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

export type SessionState = 'opening' | 'accepted' | 'started' | 'stopped';

export interface ReceiverSessionOptions {
  contentType: string;
  /** Sends bytes to the peer (bidirectional replies: ACCEPT, FINISH). Absent for files. */
  reply?: (bytes: Buffer) => void;
  onData(payload: Buffer): void;
  /** The sender sent STOP (and got FINISH): the stream ended cleanly. */
  onStop?(): void;
}

/**
 * The receiving end of one Frame Streams stream: checks the order of control frames, answers READY with
 * ACCEPT and STOP with FINISH when there is a peer to answer, hands data frames on once started.
 */
export class ReceiverSession implements FrameSink {
  state: SessionState = 'opening';
  /** READY was received: the stream is bidirectional. */
  bidirectional = false;

  constructor(private readonly options: ReceiverSessionOptions) {}

  data(payload: Buffer): void {
    if (this.state !== 'started')
      throw new FrameStreamError(
        'KANSOKU_FSTRM_UNEXPECTED_FRAME',
        `data frame before START (state ${this.state})`,
      );
    this.options.onData(payload);
  }

  control(frame: ControlFrame): void {
    const { contentType } = this.options;
    switch (frame.type) {
      case ControlType.READY:
        if (this.state !== 'opening' || this.options.reply === undefined) break;
        if (!frame.contentTypes.includes(contentType))
          throw new FrameStreamError(
            'KANSOKU_FSTRM_CONTENT_TYPE',
            `sender offers ${JSON.stringify(frame.contentTypes)}, not ${contentType}`,
          );
        this.bidirectional = true;
        this.options.reply(encodeControlFrame(ControlType.ACCEPT, [contentType]));
        this.state = 'accepted';
        return;
      case ControlType.START:
        if (this.state !== 'opening' && this.state !== 'accepted') break;
        // START names at most one type; none means "whatever was agreed" (or, in a file, unspecified).
        if (frame.contentTypes.length > 0 && frame.contentTypes[0] !== contentType)
          throw new FrameStreamError(
            'KANSOKU_FSTRM_CONTENT_TYPE',
            `stream of ${JSON.stringify(frame.contentTypes[0])}, not ${contentType}`,
          );
        this.state = 'started';
        return;
      case ControlType.STOP:
        if (this.state !== 'started') break;
        this.state = 'stopped';
        if (this.bidirectional) this.options.reply?.(encodeControlFrame(ControlType.FINISH));
        this.options.onStop?.();
        return;
      default:
        break;
    }
    throw new FrameStreamError(
      'KANSOKU_FSTRM_UNEXPECTED_FRAME',
      `control frame ${controlTypeName(frame.type)} in state ${this.state}`,
    );
  }
}
