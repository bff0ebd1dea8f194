export * from './dns-build.ts';
export * from './dns-wire.ts';
export * from './dnstap.ts';
export * from './dnstap-queries.ts';
export * from './frame-streams.ts';
export * from './fstrm-file.ts';
export * from './fstrm-sender.ts';
export * from './query-record.ts';
