/**
 * MRT entries per second: our streaming reader (services/bgp/src/decoders/mrt) against `bgpdump -m` (Debian's
 * bgpdump, C) on the same files, bview.20020722.2337.gz (TABLE_DUMP, 115,521 RIB entries) and
 * updates.20160811.1600.gz (BGP4MP, 41,212 prefixes announced or withdrawn plus 22 state changes).
 *
 * An entry is what bgpdump prints one line for: a RIB entry, a prefix announced or withdrawn, a state change.
 * Both sides read the gzip file and decompress it; both are timed from start to the last entry, wall clock:
 * - ours: `readMrt(file)` in this process, every record decoded into objects (attributes, AS paths merged,
 *   prefixes), entries counted with `updateRoutes`; and, as a second figure, the same plus what the replay
 *   adds per entry (RouteUpdate built and protobuf-encoded with its Kafka key, as the replay publishes it);
 * - bgpdump: `bgpdump -m <file>` as a child process with its output sent to /dev/null (its fastest: the text is
 *   formatted but nobody reads it); the lines it prints are counted in a separate, untimed run.
 * Each case: one warm-up, then --runs runs, the median reported. Ratio = ours ÷ bgpdump (goal ≥ 1).
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { encode, keyOf, topics } from '@kansoku/contracts';
import { capturesRoot } from '@kansoku/kit/testing/captures';
import { updateRoutes } from '../../../services/bgp/src/decoders/bgp/routes.ts';
import { readMrt } from '../../../services/bgp/src/decoders/mrt/reader.ts';
import {
  bgp4mpStateEvent,
  bgp4mpUpdates,
  type MrtMappingContext,
  PeerCache,
  ribRecordUpdates,
  tableDumpUpdates,
} from '../../../services/bgp/src/replay/mrt-mapping.ts';
import { encodeRouteUpdate } from '../../../services/bgp/src/station/route-update-codec.ts';
import {
  BenchArgumentError,
  type Benchmark,
  intFlag,
  listFlag,
  median,
  type ResultTable,
} from '../benchmark.ts';

const DEFAULT_FILES = ['bview.20020722.2337.gz', 'updates.20160811.1600.gz'];

interface Sample {
  seconds: number;
  entries: number;
}

/** Entries in the file as our reader sees them; `publish`: also build and encode each RouteUpdate. */
async function ours(file: string, publish: boolean): Promise<Sample> {
  const started = process.hrtime.bigint();
  let entries = 0;
  let bytes = 0;
  const context: MrtMappingContext = { timeReceivedNs: 0n, routerAddress: new Uint8Array(0) };
  const peers = new PeerCache();
  for await (const record of readMrt(file)) {
    switch (record.kind) {
      case 'table-dump':
      case 'rib':
        entries += record.entries.length;
        if (publish) {
          const mapped =
            record.kind === 'rib'
              ? ribRecordUpdates(record, context, peers)
              : tableDumpUpdates(record, context, peers);
          for (const update of mapped.updates) {
            bytes +=
              encodeRouteUpdate(update).length +
              keyOf(topics.bgpUpdates, { $typeName: 'kansoku.bgp.v2.RouteUpdateBatch', updates: [update] })
                .length;
          }
        }
        break;
      case 'peer-index-table':
        context.collectorBgpId = record.collectorBgpId;
        break;
      case 'bgp4mp-message':
        if (record.message.type === 'update') {
          const routes = updateRoutes(record.message);
          entries += routes.announced.length + routes.withdrawn.length;
          if (publish) {
            for (const update of bgp4mpUpdates(record, context, peers).updates) {
              bytes +=
                encodeRouteUpdate(update).length +
                keyOf(topics.bgpUpdates, { $typeName: 'kansoku.bgp.v2.RouteUpdateBatch', updates: [update] })
                  .length;
            }
          }
        }
        break;
      case 'bgp4mp-state-change':
        entries += 1;
        if (publish) {
          const event = bgp4mpStateEvent(record, context, peers);
          if (event) bytes += encode(topics.bgpPeers, event).length;
        }
        break;
      default:
        break;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (publish && bytes === 0) throw new Error('nothing was encoded');
  return { seconds, entries };
}

async function bgpdumpLines(file: string): Promise<number> {
  const child = spawn('bgpdump', ['-m', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  let lines = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`bgpdump -m ${file} exited with ${code}`);
  return lines;
}

async function bgpdump(file: string, entries: number): Promise<Sample> {
  const started = process.hrtime.bigint();
  const child = spawn('bgpdump', ['-m', file], { stdio: ['ignore', 'ignore', 'ignore'] });
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`bgpdump -m ${file} exited with ${code}`);
  return { seconds, entries };
}

export const benchmark: Benchmark = {
  name: 'bgp-mrt-parse',
  description: 'MRT entries/s: our streaming reader vs bgpdump -m on the same gzip files (goal: ratio ≥ 1)',
  flags: {
    files: `comma-separated names under <captures>/mrt (default ${DEFAULT_FILES.join(',')})`,
    runs: 'runs per case, the median is reported (default 5)',
  },
  async run(args) {
    const files = listFlag(args, 'files', DEFAULT_FILES);
    const runs = intFlag(args, 'runs', 5);
    const dir = path.join(capturesRoot(), 'mrt');
    const table: ResultTable = {
      title: `MRT entries per second, wall clock from start to last entry (median of ${runs} runs)`,
      columns: [
        'file',
        'entries',
        'ours entries/s',
        'ours + RouteUpdate encode entries/s',
        'bgpdump -m entries/s',
        'ratio ours/bgpdump',
      ],
      rows: [],
    };
    const results: Record<string, unknown> = {};
    const notes: string[] = [];
    for (const name of files) {
      const file = path.join(dir, name);
      const lines = await bgpdumpLines(file).catch((error: unknown) => {
        throw new BenchArgumentError(`bgpdump -m ${file}: ${String(error)} (apt-get install bgpdump)`);
      });
      const samples: Record<'ours' | 'oursEncode' | 'bgpdump', Sample[]> = {
        ours: [],
        oursEncode: [],
        bgpdump: [],
      };
      // Warm-up of each, then the runs interleaved so a noisy neighbour hits all three alike.
      await ours(file, false);
      await ours(file, true);
      await bgpdump(file, lines);
      for (let run = 0; run < runs; run++) {
        samples.ours.push(await ours(file, false));
        samples.oursEncode.push(await ours(file, true));
        samples.bgpdump.push(await bgpdump(file, lines));
        process.stderr.write(
          `${name} run ${run + 1}: ours ${samples.ours.at(-1)!.seconds.toFixed(3)} s, +encode ${samples.oursEncode
            .at(-1)!
            .seconds.toFixed(3)} s, bgpdump ${samples.bgpdump.at(-1)!.seconds.toFixed(3)} s\n`,
        );
      }
      const entries = samples.ours[0]!.entries;
      if (entries !== lines) {
        notes.push(`${name}: our reader counts ${entries} entries, bgpdump -m printed ${lines} lines`);
      }
      const rate = (list: Sample[]) => median(list.map((s) => s.entries / s.seconds));
      const oursRate = rate(samples.ours);
      const encodeRate = rate(samples.oursEncode);
      const bgpdumpRate = rate(samples.bgpdump);
      const ratio = oursRate / bgpdumpRate;
      table.rows.push([
        name,
        entries,
        Math.round(oursRate),
        Math.round(encodeRate),
        Math.round(bgpdumpRate),
        Number(ratio.toFixed(2)),
      ]);
      results[name] = {
        entries,
        bgpdump_lines: lines,
        ours_entries_per_second: Math.round(oursRate),
        ours_with_route_update_encode_entries_per_second: Math.round(encodeRate),
        bgpdump_entries_per_second: Math.round(bgpdumpRate),
        ratio: Number(ratio.toFixed(3)),
        goal_met: ratio >= 1,
        seconds: {
          ours: samples.ours.map((s) => s.seconds),
          ours_with_encode: samples.oursEncode.map((s) => s.seconds),
          bgpdump: samples.bgpdump.map((s) => s.seconds),
        },
      };
    }
    notes.push(
      `bgpdump runs as its own process (one core of ${os.cpus().length}); ours on this process's main thread, ` +
        'gzip inflated by Node’s zlib on the libuv pool',
    );
    return { tables: [table], notes, settings: { runs, files }, files: results };
  },
};

export default benchmark;
