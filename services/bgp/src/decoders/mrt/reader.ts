/**
 * Streaming MRT reader (RFC 6396). `readMrt(path | stream)` yields one record at a time while reading the input
 * in chunks, so a full-table dump never sits in memory; gzip (1f 8b) and bzip2 (`BZh`) are recognised by their
 * magic bytes, not by the file name. A record that cannot be decoded is yielded as `kind: 'malformed'` with a
 * typed error and the reader goes on with the next record (the header's length still frames it); only an input
 * that ends inside a record, or a length beyond `maxRecordLength`, ends the iteration (after a `malformed`
 * record saying so).
 *
 * The rrc00 bview quirk (capture `rrc00__2000.01__bview.20000111.0032`): the MRT daemon RIPE RIS ran in 2000
 * wrote TABLE_DUMP records that hold one view/sequence pair followed by MANY entries (about 180 on average),
 * with a header length four bytes shorter than what it wrote: the declared length leaves out the four bytes of
 * view and sequence number. A reader that trusts the length reads the first entries, then takes the last four
 * bytes of the record as the start of the next header and loses sync (bgpdump prints the first entry of such
 * a record and stops). The fix here: a TABLE_DUMP body is walked entry by entry (fixed fields plus attribute
 * length); when the walk does not end exactly at the declared length but does end exactly four bytes later,
 * those four bytes belong to the record (`lengthCorrection: 4`). Well-formed files are unaffected (their walk
 * ends at the declared length).
 */

import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import unbzip2Stream from 'unbzip2-stream';

import { MRT_ERROR_CODES, MrtDecodeError } from './errors.ts';
import {
  decodeMrtRecord,
  decodeTableDump,
  isDecodeError,
  type MrtDecoderState,
  tableDumpSpan,
} from './records.ts';
import { MRT_TYPE_BGP4MP_ET, MRT_TYPE_TABLE_DUMP, type MrtHeader, type MrtRecord } from './types.ts';

export const MRT_HEADER_LENGTH = 12;
/** The TABLE_DUMP length quirk's size (see above). */
export const TABLE_DUMP_LENGTH_CORRECTION = 4;
const ET_TYPES = new Set([MRT_TYPE_BGP4MP_ET, 33, 49]);

export interface MrtReaderOptions {
  /** Records declaring a longer body end the iteration (a corrupt length would otherwise buffer gigabytes). */
  maxRecordLength?: number;
}

export type MrtSource = string | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export type MrtCompression = 'gzip' | 'bzip2' | 'none';

/** Compression of a stream from its first bytes. */
export function detectCompression(head: Uint8Array): MrtCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return 'none';
}

type Step = { record: MrtRecord; consumed: number; stop?: boolean } | { need: number };

function malformed(header: MrtHeader, error: unknown): MrtRecord {
  if (isDecodeError(error)) return { kind: 'malformed', header, error };
  throw error;
}

/**
 * Frames and decodes the record at the start of `buf`. Returns `need` (total bytes wanted from `buf`'s start)
 * when `buf` is too short and more input may come (`final` false).
 */
function step(buf: Buffer, state: MrtDecoderState, final: boolean, maxRecordLength: number): Step {
  if (buf.length < MRT_HEADER_LENGTH) {
    if (!final) return { need: MRT_HEADER_LENGTH };
    const header: MrtHeader = { timestamp: 0, type: 0, subtype: 0, length: 0 };
    const error = new MrtDecodeError(MRT_ERROR_CODES.truncated, `input ends inside a record header`);
    return { record: { kind: 'malformed', header, error }, consumed: buf.length, stop: true };
  }
  const header: MrtHeader = {
    timestamp: buf.readUInt32BE(0),
    type: buf.readUInt16BE(4),
    subtype: buf.readUInt16BE(6),
    length: buf.readUInt32BE(8),
  };
  const length = header.length;
  if (length > maxRecordLength) {
    const error = new MrtDecodeError(
      MRT_ERROR_CODES.badRecord,
      `record length ${length} exceeds ${maxRecordLength}; the rest of the input cannot be framed`,
    );
    return { record: { kind: 'malformed', header, error }, consumed: buf.length, stop: true };
  }
  const end = MRT_HEADER_LENGTH + length;
  if (buf.length < end) {
    if (!final) return { need: end };
    const error = new MrtDecodeError(
      MRT_ERROR_CODES.truncated,
      `input ends inside a record: ${buf.length - MRT_HEADER_LENGTH} of ${length} body bytes`,
    );
    return { record: { kind: 'malformed', header, error }, consumed: buf.length, stop: true };
  }
  let body = buf.subarray(MRT_HEADER_LENGTH, end);

  if (header.type === MRT_TYPE_TABLE_DUMP && tableDumpSpan(body, header.subtype) === undefined) {
    const corrected = end + TABLE_DUMP_LENGTH_CORRECTION;
    if (buf.length < corrected && !final) return { need: corrected };
    const longer = buf.subarray(MRT_HEADER_LENGTH, Math.min(corrected, buf.length));
    if (
      longer.length === length + TABLE_DUMP_LENGTH_CORRECTION &&
      tableDumpSpan(longer, header.subtype) !== undefined
    ) {
      try {
        return { record: decodeTableDump(header, longer, TABLE_DUMP_LENGTH_CORRECTION), consumed: corrected };
      } catch (error) {
        return { record: malformed(header, error), consumed: corrected };
      }
    }
  }

  if (ET_TYPES.has(header.type)) {
    if (body.length < 4) {
      const error = new MrtDecodeError(
        MRT_ERROR_CODES.badRecord,
        `extended-timestamp record of ${length} bytes`,
      );
      return { record: { kind: 'malformed', header, error }, consumed: end };
    }
    header.microseconds = body.readUInt32BE(0);
    body = body.subarray(4);
  }
  try {
    return { record: decodeMrtRecord(header, body, state), consumed: end };
  } catch (error) {
    return { record: malformed(header, error), consumed: end };
  }
}

/** Every record of an in-memory, uncompressed MRT stream (tests, fuzzing, small inputs). */
export function* decodeMrtBuffer(buf: Buffer, options: MrtReaderOptions = {}): Generator<MrtRecord> {
  const state: MrtDecoderState = {};
  const maxRecordLength = options.maxRecordLength ?? 1 << 26;
  let position = 0;
  while (position < buf.length) {
    const result = step(buf.subarray(position), state, true, maxRecordLength);
    if ('need' in result) return;
    yield result.record;
    position += result.consumed;
    if (result.stop) return;
  }
}

async function* chunksOf(source: MrtSource): AsyncGenerator<Buffer> {
  const stream = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string'
      ? Buffer.from(chunk, 'latin1')
      : Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk);
  }
}

/** The decompressed bytes of `source`, compression detected from its first bytes. */
export async function* decompressedChunks(source: MrtSource): AsyncGenerator<Buffer> {
  const raw = chunksOf(source);
  const head: Buffer[] = [];
  let headLength = 0;
  while (headLength < 3) {
    const next = await raw.next();
    if (next.done) break;
    head.push(next.value);
    headLength += next.value.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    yield* raw;
  }
  if (compression === 'none') {
    yield* replay();
    return;
  }
  const input = Readable.from(replay(), { objectMode: false });
  const decompressor = compression === 'gzip' ? createGunzip() : unbzip2Stream();
  // unbzip2-stream is a classic stream: wrap() turns it into an async-iterable Readable (errors forwarded).
  const output = compression === 'gzip' ? (decompressor as Readable) : new Readable().wrap(decompressor);
  input.on('error', (error) => decompressor.destroy(error));
  input.pipe(decompressor);
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    if (isDecodeError(error)) throw error;
    throw new MrtDecodeError(
      MRT_ERROR_CODES.badCompression,
      `${compression} data is corrupt: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  } finally {
    input.destroy();
  }
}

/**
 * Reads an MRT file (path) or stream, plain, gzip or bzip2, yielding its records in order. Throws only for an
 * unreadable input (I/O error, or MrtDecodeError KANSOKU_MRT_BAD_COMPRESSION for corrupt compressed data).
 */
export async function* readMrt(source: MrtSource, options: MrtReaderOptions = {}): AsyncGenerator<MrtRecord> {
  const maxRecordLength = options.maxRecordLength ?? 1 << 26;
  const state: MrtDecoderState = {};
  const chunks = decompressedChunks(source);
  let buffer = Buffer.alloc(0);
  let position = 0;
  let ended = false;
  for (;;) {
    const view = buffer.subarray(position);
    if (view.length === 0 && ended) return;
    const result = step(view, state, ended, maxRecordLength);
    if ('need' in result) {
      // Pull chunks until the record fits (or the input ends).
      const parts: Buffer[] = [view];
      let have = view.length;
      while (have < result.need) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        parts.push(next.value);
        have += next.value.length;
      }
      buffer = parts.length === 1 ? view : Buffer.concat(parts, have);
      position = 0;
      continue;
    }
    yield result.record;
    position += result.consumed;
    if (result.stop) {
      await chunks.return(undefined);
      return;
    }
  }
}
