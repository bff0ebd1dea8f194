/**
 * Why a BMP stream or message was not decoded. The codes are stable: the station counts decode errors per
 * router by code, and operators alert on them.
 */

import { KansokuError } from '@kansoku/kit/errors';
import { INPUT_TRUNCATED } from '@kansoku/kit/net/byte-reader';

export const BmpErrorCode = {
  /** A message ends before a field it declares (a TLV, an OPEN, the per-peer header). */
  TRUNCATED: INPUT_TRUNCATED,
  /** The common header's version is not 3: the stream is not BMP (or is from a pre-RFC draft); close it. */
  BAD_VERSION: 'KANSOKU_BMP_BAD_VERSION',
  /** The common header's length is below the header itself or above the framer's limit; close the stream. */
  BAD_LENGTH: 'KANSOKU_BMP_BAD_LENGTH',
  /** The common header's message type is not one RFC 7854 defines (0 to 6). */
  UNKNOWN_MESSAGE_TYPE: 'KANSOKU_BMP_UNKNOWN_MESSAGE_TYPE',
  /** The per-peer header's peer type is not global, RD, local or Loc-RIB instance. */
  UNKNOWN_PEER_TYPE: 'KANSOKU_BMP_UNKNOWN_PEER_TYPE',
  /** A field value the RFCs rule out: a stat of the wrong size, a BGP header of the wrong type, ... */
  MALFORMED: 'KANSOKU_BMP_MALFORMED',
  /** The BGP PDU carried by a Route Monitoring, Peer Up/Down or Route Mirroring message is not valid BGP. */
  BAD_BGP_PDU: 'KANSOKU_BMP_BAD_BGP_PDU',
  /** The framer already rejected this stream; it stays closed. */
  STREAM_CLOSED: 'KANSOKU_BMP_STREAM_CLOSED',
} as const;

export type BmpErrorCode = (typeof BmpErrorCode)[keyof typeof BmpErrorCode];

/** Malformed BMP input. The station counts it by code; stream-level codes mean "close this connection". */
export class BmpDecodeError extends KansokuError {
  declare readonly code: BmpErrorCode;

  constructor(code: BmpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
