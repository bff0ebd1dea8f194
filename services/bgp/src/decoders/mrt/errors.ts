import { KansokuError } from '@kansoku/kit/errors';

export const MRT_ERROR_CODES = {
  /** The input ended inside a record (header or body). */
  truncated: 'KANSOKU_MRT_TRUNCATED',
  /** A record's body does not match its type (fields overrun the record, bad counts, unknown AFI). */
  badRecord: 'KANSOKU_MRT_BAD_RECORD',
  /** A TABLE_DUMP_V2 RIB entry names a peer the PEER_INDEX_TABLE does not have (or no table was seen). */
  unknownPeer: 'KANSOKU_MRT_UNKNOWN_PEER',
  /** The decompressor failed (corrupt gzip or bzip2 data). */
  badCompression: 'KANSOKU_MRT_BAD_COMPRESSION',
} as const;

export type MrtErrorCode = (typeof MRT_ERROR_CODES)[keyof typeof MRT_ERROR_CODES];

export class MrtDecodeError extends KansokuError {
  declare readonly code: MrtErrorCode;

  constructor(code: MrtErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
