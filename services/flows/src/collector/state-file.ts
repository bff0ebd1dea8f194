/**
 * The NetFlow v9 / IPFIX template state on disk, so a collector restart does not make every exporter's data
 * undecodable until its next template refresh (minutes, on many routers). Written atomically (a temporary
 * file in the same directory, then rename), so a crash mid-write leaves the previous state whole. Reading
 * never fails the collector: a missing file is a first start, an unreadable or corrupt one is reported and
 * the collector starts empty.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '@kansoku/kit';
import type { TemplateSnapshot } from '../decoders/netflow/index.ts';

export type StateFileReadResult =
  | { status: 'loaded'; snapshot: unknown }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** Writes `snapshot` as JSON to `path` atomically, creating the directory if needed. */
export async function writeTemplateState(path: string, snapshot: TemplateSnapshot): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(snapshot)}\n`, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Reads the state file. `loaded` carries the parsed JSON, still to be checked by the decoder's restore
 * (which rejects a foreign object); `corrupt` says why the file could not be used.
 */
export async function readTemplateState(path: string): Promise<StateFileReadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { status: 'missing' };
    return { status: 'corrupt', reason: `cannot read: ${errorMessage(error)}` };
  }
  try {
    return { status: 'loaded', snapshot: JSON.parse(text) as unknown };
  } catch (error) {
    return { status: 'corrupt', reason: `not JSON: ${errorMessage(error)}` };
  }
}
