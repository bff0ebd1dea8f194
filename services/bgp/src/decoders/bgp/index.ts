export { AS_TRANS, asPathLength, formatAsPath, mergeAs4Path, originAs } from './as-path.ts';
export {
  emptyPathAttributes,
  nlriMalformed,
  type PathAttributeOptions,
  parsePathAttributes,
} from './attributes.ts';
export { type AttributeError, BGP_ERROR_CODES, BgpDecodeError, type BgpErrorCode } from './errors.ts';
export {
  AS2_SESSION,
  AS4_SESSION,
  BGP_HEADER_LENGTH,
  BGP_MAX_MESSAGE_LENGTH,
  parseBgpMessage,
  parseBgpMessageBody,
} from './message.ts';
export { formatPrefix, readPrefix, readPrefixes, readPrefixesUntilError } from './prefix.ts';
export { type UpdateRoutes, updateRoutes } from './routes.ts';
export { sessionOptionsFromOpens } from './session.ts';
export * from './types.ts';
