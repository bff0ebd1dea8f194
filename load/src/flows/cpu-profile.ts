/**
 * A CPU profile of this process over a window (node:inspector, the same sampler as `node --cpu-prof`), and
 * the functions that took the most self time in it, so a benchmark can say where its time went.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  function: string;
  /** File (path below the repository or node_modules package) and line. */
  where: string;
  selfPercent: number;
}

export interface Profiler {
  stop(file?: string): Promise<CpuProfile>;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

export async function startProfiler(samplingIntervalUs = 1000): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await post(session, 'Profiler.start');
  return {
    async stop(file) {
      const { profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
      session.disconnect();
      if (file !== undefined) await writeFile(file, JSON.stringify(profile));
      return profile;
    },
  };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const services = url.indexOf('/services/');
  if (services >= 0) return url.slice(services + 1);
  const load = url.indexOf('/load/');
  if (load >= 0) return url.slice(load + 1);
  return url.replace(/^file:\/\//, '');
}

/** Self time per function (samples in it, not in its callees), largest first. */
export function hotFunctions(profile: CpuProfile, top = 15): HotFunction[] {
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byKey = new Map<string, HotFunction & { hits: number }>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const frame = node.callFrame;
    const name = frame.functionName || (frame.url ? '(anonymous)' : `(${frame.functionName || 'native'})`);
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${name}|${where}`;
    const entry = byKey.get(key) ?? { function: name, where, selfPercent: 0, hits: 0 };
    entry.hits += hits;
    byKey.set(key, entry);
  }
  return [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map(({ hits, ...rest }) => ({ ...rest, selfPercent: total > 0 ? (hits / total) * 100 : 0 }));
}

/** Self time per source file or package (where the time goes, coarser than per function). */
export function hotFiles(profile: CpuProfile, top = 12): { file: string; selfPercent: number }[] {
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const url = node.callFrame.url;
    const file = url ? shortUrl(url) : `(${node.callFrame.functionName || 'native'})`;
    byFile.set(file, (byFile.get(file) ?? 0) + hits);
  }
  return [...byFile.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([file, hits]) => ({ file, selfPercent: total > 0 ? (hits / total) * 100 : 0 }));
}
