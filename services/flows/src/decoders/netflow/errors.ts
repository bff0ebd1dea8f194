/**
 * Why a NetFlow/IPFIX export packet (or part of it) was not decoded. The codes are stable: the collector
 * counts decode errors per exporter by code, and operators alert on them.
 */

import { KansokuError } from '@kansoku/kit/errors';
import { INPUT_TRUNCATED } from '@kansoku/kit/net/byte-reader';

export const NetflowErrorCode = {
  /** The packet ends before a header, set, template or record it declares. */
  TRUNCATED: INPUT_TRUNCATED,
  /** The version field is not 5, 9 or 10. */
  BAD_VERSION: 'KANSOKU_FLOW_BAD_VERSION',
  /** The header's length or record count contradicts the packet (IPFIX length below 16, v5 count too high). */
  BAD_LENGTH: 'KANSOKU_FLOW_BAD_LENGTH',
  /** A set (flowset) declares a length below its own header or beyond the end of the message. */
  BAD_SET_LENGTH: 'KANSOKU_FLOW_BAD_SET_LENGTH',
  /** A template or options template record that cannot describe data: no fields, a reserved id, ... */
  BAD_TEMPLATE: 'KANSOKU_FLOW_BAD_TEMPLATE',
  /** A data record that does not fit its template (a variable-length field running past its set). */
  BAD_RECORD: 'KANSOKU_FLOW_BAD_RECORD',
  /** A data set waited for its template longer than allowed, or was pushed out by newer ones, and was dropped. */
  TEMPLATE_MISSING: 'KANSOKU_FLOW_TEMPLATE_MISSING',
  /** An exception the decoder did not expect: a bug, counted rather than thrown so the collector keeps running. */
  DECODER_BUG: 'KANSOKU_FLOW_DECODER_BUG',
} as const;

export type NetflowErrorCode = (typeof NetflowErrorCode)[keyof typeof NetflowErrorCode];

/** Raised inside the decoder for malformed input; `decode` catches it and counts its code. */
export class NetflowDecodeError extends KansokuError {
  declare readonly code: NetflowErrorCode;

  constructor(code: NetflowErrorCode, message: string) {
    super(code, message);
  }
}
