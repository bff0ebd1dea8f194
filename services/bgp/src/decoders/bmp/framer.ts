/**
 * Cuts a BMP TCP byte stream into messages by the common header's length (RFC 7854 §4.1). A version other
 * than 3 or an impossible length cannot be resynchronised on a byte stream: the framer throws a
 * BmpDecodeError (BAD_VERSION, BAD_LENGTH) and refuses any further input, so the station closes that
 * connection.
 */

import { BmpDecodeError, BmpErrorCode } from './errors.ts';

export const BMP_VERSION = 3;
/** Version (1), message length (4), message type (1). */
export const BMP_COMMON_HEADER_LENGTH = 6;
/**
 * Default upper bound of one message. The largest real one is a Route Monitoring of an extended BGP message
 * (RFC 8654: 65,535 bytes) under a 42-byte per-peer header, or a Peer Up carrying two such OPENs plus TLVs.
 */
export const DEFAULT_MAX_BMP_MESSAGE_LENGTH = 1 << 20;

export interface BmpFramerOptions {
  /** Longest message accepted (bytes, common header included); default 1 MiB. */
  maxMessageLength?: number;
}

export interface BmpFramer {
  /**
   * Adds bytes read from the connection; returns the messages they complete (each a whole message, common
   * header included, in a buffer of its own). Throws BmpDecodeError on a bad version or length.
   */
  push(chunk: Buffer): Buffer[];
  /** Bytes held waiting for the rest of a message. */
  readonly buffered: number;
  /** Messages returned so far. */
  readonly messages: number;
  /** Whether the framer rejected the stream (every later push throws). */
  readonly failed: boolean;
}

export function createBmpFramer(options: BmpFramerOptions = {}): BmpFramer {
  const maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_BMP_MESSAGE_LENGTH;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let messages = 0;
  /** Length of the message at the head of `pending`, once its header is in; 0 before. */
  let needed = 0;
  let failure: BmpDecodeError | undefined;

  function fail(error: BmpDecodeError): never {
    failure = error;
    pending = [];
    pendingLength = 0;
    throw error;
  }

  return {
    push(chunk: Buffer): Buffer[] {
      if (failure !== undefined) {
        throw new BmpDecodeError(BmpErrorCode.STREAM_CLOSED, `stream already rejected: ${failure.message}`, {
          cause: failure,
        });
      }
      if (chunk.length === 0) return [];
      pending.push(chunk);
      pendingLength += chunk.length;
      // A big message arriving in many small chunks is joined once, not once per chunk.
      if (pendingLength < needed) return [];
      let data = pending.length === 1 ? chunk : Buffer.concat(pending, pendingLength);
      const out: Buffer[] = [];
      let offset = 0;
      while (data.length - offset >= BMP_COMMON_HEADER_LENGTH) {
        const version = data[offset]!;
        if (version !== BMP_VERSION) {
          fail(new BmpDecodeError(BmpErrorCode.BAD_VERSION, `BMP version ${version}, expected 3`));
        }
        const length = data.readUInt32BE(offset + 1);
        if (length < BMP_COMMON_HEADER_LENGTH || length > maxMessageLength) {
          fail(
            new BmpDecodeError(
              BmpErrorCode.BAD_LENGTH,
              `BMP message length ${length} outside ${BMP_COMMON_HEADER_LENGTH}..${maxMessageLength}`,
            ),
          );
        }
        if (data.length - offset < length) {
          needed = length;
          break;
        }
        // A copy, so a message outlives the socket's chunk and the rest of the chunk can be released.
        out.push(Buffer.from(data.subarray(offset, offset + length)));
        offset += length;
      }
      messages += out.length;
      if (data.length - offset < BMP_COMMON_HEADER_LENGTH) needed = 0;
      if (offset === data.length) {
        pending = [];
        pendingLength = 0;
      } else {
        data = offset === 0 ? data : data.subarray(offset);
        pending = [data];
        pendingLength = data.length;
      }
      return out;
    },
    get buffered() {
      return pendingLength;
    },
    get messages() {
      return messages;
    },
    get failed() {
      return failure !== undefined;
    },
  };
}
