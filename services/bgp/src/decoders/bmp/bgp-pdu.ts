/**
 * The BGP messages inside BMP: cut one from a BMP message by its header's length, decode it with the BGP
 * message parser (its errors become BmpDecodeError BAD_BGP_PDU, with the BGP error as the cause), and the
 * ADD-PATH families two OPENs negotiate.
 */

import type { ByteReader } from '@kansoku/kit/net/byte-reader';
import { BgpDecodeError } from '../bgp/errors.ts';
import { BGP_HEADER_LENGTH, parseBgpMessage } from '../bgp/message.ts';
import type { BgpMessage, BgpOpen, BgpSessionOptions } from '../bgp/types.ts';
import { BmpDecodeError, BmpErrorCode } from './errors.ts';
import type { AddPathFamilies, BgpSessionCapabilities } from './types.ts';

/**
 * Reads one BGP message (header and body) from `reader`: checks the marker and that the length covers the
 * header; returns the whole message and its type. Throws BAD_BGP_PDU or TRUNCATED.
 */
export function readBgpMessage(reader: ByteReader): { type: number; pdu: Buffer } {
  reader.require(BGP_HEADER_LENGTH);
  const start = reader.buffer.subarray(reader.position);
  for (let i = 0; i < 16; i++) {
    if (start[i] !== 0xff) throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, 'BGP marker is not all ones');
  }
  const length = start.readUInt16BE(16);
  if (length < BGP_HEADER_LENGTH) {
    throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `BGP message length ${length} below its header`);
  }
  const type = start[18]!;
  return { type, pdu: reader.bytes(length) };
}

/** The BGP parser's options for UPDATEs encoded with `capabilities`. */
export function bgpSessionOptions(capabilities: BgpSessionCapabilities): BgpSessionOptions {
  const families = capabilities.addPath;
  return {
    as4: capabilities.as4,
    addPath: families.size === 0 ? () => false : (afi, safi) => families.has(`${afi}/${safi}`),
  };
}

/** Decodes `pdu` (one whole BGP message) and checks its type; BGP errors become BAD_BGP_PDU. */
export function decodeBgpPdu<T extends BgpMessage['type']>(
  pdu: Buffer,
  type: T,
  options: BgpSessionOptions,
  what: string,
): Extract<BgpMessage, { type: T }> {
  let message: BgpMessage;
  try {
    message = parseBgpMessage(pdu, options);
  } catch (error) {
    if (error instanceof BgpDecodeError) {
      throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `${what}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (message.type !== type) {
    throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `${what}: BGP ${message.type}, expected ${type}`);
  }
  return message as Extract<BgpMessage, { type: T }>;
}

const ADD_PATH_RECEIVE = 1;
const ADD_PATH_SEND = 2;

/**
 * Families in which `sender` puts path identifiers in its UPDATEs to `receiver`: the sender advertised
 * "send" and the receiver "receive" for the same AFI/SAFI (RFC 7911 §4).
 */
export function negotiatedAddPath(sender: BgpOpen, receiver: BgpOpen): AddPathFamilies {
  const receives = new Set(
    receiver.addPath.filter((entry) => entry.sendReceive & ADD_PATH_RECEIVE).map((e) => `${e.afi}/${e.safi}`),
  );
  const families = new Set<string>();
  for (const entry of sender.addPath) {
    const key = `${entry.afi}/${entry.safi}`;
    if (entry.sendReceive & ADD_PATH_SEND && receives.has(key)) families.add(key);
  }
  return families;
}
