export { formatAddressLikeInetNtop, formatBgpdumpLines } from './bgpdump-format.ts';
export { MRT_ERROR_CODES, MrtDecodeError, type MrtErrorCode } from './errors.ts';
export {
  decodeMrtBuffer,
  decompressedChunks,
  detectCompression,
  MRT_HEADER_LENGTH,
  type MrtCompression,
  type MrtReaderOptions,
  type MrtSource,
  readMrt,
  TABLE_DUMP_LENGTH_CORRECTION,
} from './reader.ts';
export { decodeMrtRecord, type MrtDecoderState, tableDumpSpan } from './records.ts';
export * from './types.ts';
