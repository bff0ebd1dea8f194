/** The `mrt` replayer the platform CLI runs: `kansoku replay mrt <file> [--rate N] [--mode updates|rib]`. */

import type { ReplayerDefinition } from '@kansoku/kit';
import { type MrtReplayOptions, mrtReplayOptionsSchema, replayMrtFile } from './mrt-replay.ts';

export const mrtReplayer: ReplayerDefinition = {
  name: 'mrt',
  description:
    'MRT dump (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP; gzip/bzip2) to the BGP topics: a RIB load or paced updates',
  options: mrtReplayOptionsSchema,
  async run(file, options, context) {
    const log = context.runtime.log.child({ component: 'mrt-replay' });
    const producer = context.runtime.kafkaProducer(log);
    await producer.start();
    try {
      const summary = await replayMrtFile(file, options as unknown as MrtReplayOptions, {
        producer,
        log,
        progress: context.progress,
        signal: context.signal,
      });
      return { ...summary };
    } finally {
      await producer.stop();
    }
  },
};
