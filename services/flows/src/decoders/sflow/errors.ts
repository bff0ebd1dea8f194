/**
 * Why an sFlow datagram was rejected. Codes are stable: operators alert on them per agent, so a code keeps
 * its meaning once released.
 */

import { KansokuError } from '@kansoku/kit/errors';

export const SflowErrorCode = {
  /** The datagram ends inside its header, a sample header or a record header. */
  TRUNCATED: 'KANSOKU_SFLOW_TRUNCATED',
  /** Datagram version is not 5 (v2/v4 are not decoded). */
  BAD_VERSION: 'KANSOKU_SFLOW_BAD_VERSION',
  /** An address (agent or next hop) of a type other than 0 (unknown), 1 (IPv4) or 2 (IPv6). */
  BAD_ADDRESS_TYPE: 'KANSOKU_SFLOW_BAD_ADDRESS_TYPE',
  /** More samples declared than the rest of the datagram can hold. */
  TOO_MANY_SAMPLES: 'KANSOKU_SFLOW_TOO_MANY_SAMPLES',
  /** A sample's declared length runs past the end of the datagram. */
  SAMPLE_OVERRUN: 'KANSOKU_SFLOW_SAMPLE_OVERRUN',
  /** A sample's fixed fields do not fit in its declared length. */
  SAMPLE_MALFORMED: 'KANSOKU_SFLOW_SAMPLE_MALFORMED',
  /** More records declared than the rest of the sample can hold. */
  TOO_MANY_RECORDS: 'KANSOKU_SFLOW_TOO_MANY_RECORDS',
  /** A record's declared length runs past the end of its sample. */
  RECORD_OVERRUN: 'KANSOKU_SFLOW_RECORD_OVERRUN',
  /** A record's content does not fit its declared length, or holds impossible counts. */
  RECORD_MALFORMED: 'KANSOKU_SFLOW_RECORD_MALFORMED',
} as const;

export type SflowErrorCode = (typeof SflowErrorCode)[keyof typeof SflowErrorCode];

export const SFLOW_ERROR_CODES: readonly SflowErrorCode[] = Object.values(SflowErrorCode);

export class SflowDecodeError extends KansokuError {
  declare readonly code: SflowErrorCode;

  constructor(code: SflowErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
