/**
 * IPFIX over TCP (RFC 7011 §10.4): a byte stream of messages, each starting with the 16-octet header whose
 * second field is the message's length. The framer cuts one connection's stream into messages, whatever the
 * TCP segments were (split or merged). A version other than 10 or a length below the header's own makes the
 * rest of the stream unreadable: the framer reports it and the connection is closed.
 */

import { KansokuError } from '@kansoku/kit';

export const IPFIX_VERSION = 10;
export const IPFIX_HEADER_LENGTH = 16;

export const IpfixStreamErrorCode = {
  /** A message header whose version is not 10: the stream is not IPFIX, or lost its framing. */
  BAD_VERSION: 'KANSOKU_FLOW_TCP_BAD_VERSION',
  /** A message header whose length is below 16 octets. */
  BAD_LENGTH: 'KANSOKU_FLOW_TCP_BAD_LENGTH',
} as const;

export type IpfixStreamErrorCode = (typeof IpfixStreamErrorCode)[keyof typeof IpfixStreamErrorCode];

export class IpfixStreamError extends KansokuError {
  declare readonly code: IpfixStreamErrorCode;

  constructor(code: IpfixStreamErrorCode, message: string) {
    super(code, message);
  }
}

export interface IpfixFramerOutput {
  messages: Buffer[];
  error: IpfixStreamError | undefined;
}

export interface IpfixFramer {
  /**
   * Adds a chunk off the socket and returns the messages it completes, in order. When a header is not valid,
   * `error` says why (the messages before it are still returned) and every later push returns that error:
   * close the connection.
   */
  push(chunk: Buffer): IpfixFramerOutput;
  /** Octets received that do not yet form a whole message. */
  buffered(): number;
}

export function createIpfixFramer(): IpfixFramer {
  let pending: Buffer = Buffer.alloc(0);
  let failed: IpfixStreamError | undefined;

  return {
    push(chunk) {
      if (failed !== undefined) return { messages: [], error: failed };
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const messages: Buffer[] = [];
      let offset = 0;
      while (pending.length - offset >= 4) {
        const version = pending.readUInt16BE(offset);
        const length = pending.readUInt16BE(offset + 2);
        if (version !== IPFIX_VERSION) {
          failed = new IpfixStreamError(
            IpfixStreamErrorCode.BAD_VERSION,
            `IPFIX message at stream offset +${offset} has version ${version}, not 10`,
          );
        } else if (length < IPFIX_HEADER_LENGTH) {
          failed = new IpfixStreamError(
            IpfixStreamErrorCode.BAD_LENGTH,
            `IPFIX message at stream offset +${offset} declares length ${length}, below the 16-octet header`,
          );
        }
        if (failed !== undefined) {
          pending = Buffer.alloc(0);
          return { messages, error: failed };
        }
        if (pending.length - offset < length) break;
        messages.push(pending.subarray(offset, offset + length));
        offset += length;
      }
      pending = offset === 0 ? pending : Buffer.from(pending.subarray(offset));
      return { messages, error: undefined };
    },
    buffered() {
      return pending.length;
    },
  };
}
