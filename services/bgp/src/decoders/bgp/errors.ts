/**
 * Typed errors of the BGP message parser. Codes are stable (operators alert on them); messages may change.
 */

import { KansokuError } from '@kansoku/kit/errors';

export const BGP_ERROR_CODES = {
  /** The 16-octet marker is not all ones. */
  badMarker: 'KANSOKU_BGP_BAD_MARKER',
  /** The header's length is below 19, above 65535, or disagrees with the bytes given. */
  badLength: 'KANSOKU_BGP_BAD_MESSAGE_LENGTH',
  /** A message type this parser does not know. */
  badType: 'KANSOKU_BGP_BAD_MESSAGE_TYPE',
  /** OPEN: version, optional parameters or a capability that overruns its container. */
  badOpen: 'KANSOKU_BGP_BAD_OPEN',
  /** UPDATE: withdrawn routes length or total path attribute length overruns the message. */
  badUpdateLengths: 'KANSOKU_BGP_BAD_UPDATE_LENGTHS',
  /** A prefix longer than its family allows, or whose bytes overrun the field holding it. */
  badPrefix: 'KANSOKU_BGP_BAD_PREFIX',
  /** A path attribute's length runs past the attribute area (the rest of the area cannot be parsed). */
  badAttributeLength: 'KANSOKU_BGP_BAD_ATTRIBUTE_LENGTH',
  /** MP_REACH_NLRI / MP_UNREACH_NLRI malformed (RFC 7606 §7.3: session reset or AFI/SAFI disable). */
  badMultiprotocol: 'KANSOKU_BGP_BAD_MP_ATTRIBUTE',
  /** NOTIFICATION or ROUTE-REFRESH shorter than its fixed part. */
  badMessageBody: 'KANSOKU_BGP_BAD_MESSAGE_BODY',
} as const;

export type BgpErrorCode = (typeof BGP_ERROR_CODES)[keyof typeof BGP_ERROR_CODES];

/** A BGP message that cannot be parsed at all (RFC 7606 "session reset" class). */
export class BgpDecodeError extends KansokuError {
  declare readonly code: BgpErrorCode;

  constructor(code: BgpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * An attribute error that RFC 7606 lets the receiver recover from: the UPDATE is still returned, with the error
 * listed and, for `treat-as-withdraw`, the update's `treatAsWithdraw` set.
 */
export interface AttributeError {
  code:
    | 'KANSOKU_BGP_ATTRIBUTE_MALFORMED'
    | 'KANSOKU_BGP_ATTRIBUTE_DUPLICATE'
    | 'KANSOKU_BGP_ATTRIBUTE_MISSING'
    | 'KANSOKU_BGP_NLRI_MALFORMED';
  /** Attribute type code (14/15 for MP_REACH/MP_UNREACH NLRI; 0 for the UPDATE's own withdrawn routes or NLRI). */
  type: number;
  /** RFC 7606 action taken: the attribute was dropped, or the whole UPDATE's routes must be withdrawn. */
  action: 'attribute-discard' | 'treat-as-withdraw';
  message: string;
}
