export { type NetflowDecoderConfig, netflowDecoderSchema, resolveNetflowDecoderConfig } from './config.ts';
export {
  createNetflowDecoder,
  type NetflowDecoder,
  type NetflowDecoderDeps,
  type NetflowDecoderStats,
  type NetflowExporter,
  type NetflowExporterStats,
  type RestoreResult,
  SNAPSHOT_FORMAT,
  SNAPSHOT_INVALID,
  type SnapshotDomain,
  type SnapshotExporter,
  type SnapshotTemplate,
  type TemplateSnapshot,
} from './decoder.ts';
export { NetflowDecodeError, NetflowErrorCode } from './errors.ts';
export { IE, VARIABLE_LENGTH } from './fields.ts';
