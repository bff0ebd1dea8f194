/**
 * The real public captures the conformance tests read (see SOURCES.md beside them), never copied into the
 * repository: the folder is `KANSOKU_CAPTURES`, else `../shared/captures` beside the repository. And whether
 * tshark, the oracle some of those tests compare with, is installed.
 *
 * Test code only: not exported from the kit's index.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

/** The captures folder: `KANSOKU_CAPTURES`, else `../shared/captures` beside the repository. */
export function capturesRoot(): string {
  return process.env.KANSOKU_CAPTURES ?? resolve(repoRoot, '../shared/captures');
}

/** Whether the captures folder (or its subfolder `sub`, such as `flows`) is there. */
export function capturesPresent(sub?: string): boolean {
  return existsSync(sub === undefined ? capturesRoot() : join(capturesRoot(), sub));
}

/**
 * The names of the files in `<captures>/<sub>` matching `pattern`, sorted; empty when the folder is absent.
 * With `recursive`, files in subfolders too, named by their path below `<captures>/<sub>`.
 */
export function captureFiles(sub: string, pattern: RegExp, options: { recursive?: boolean } = {}): string[] {
  const folder = join(capturesRoot(), sub);
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: options.recursive ?? false, encoding: 'utf8' })
    .filter((name) => pattern.test(name))
    .sort();
}

let tshark: boolean | undefined;

/** Whether `tshark` runs (checked once per process). */
export function tsharkAvailable(): boolean {
  if (tshark === undefined) {
    try {
      execFileSync('tshark', ['--version'], { stdio: 'ignore' });
      tshark = true;
    } catch {
      tshark = false;
    }
  }
  return tshark;
}
