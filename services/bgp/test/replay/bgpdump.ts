/**
 * bgpdump's expected output (`<file>.bgp.gz`, what `bgpdump -m` prints, shipped beside each MRT capture) and
 * ours, both reduced to `kind|peer|prefix[#path id]|as path` lines, so a test compares them as sorted lists.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RouteAction, type RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { capturesPresent, capturesRoot, captureFiles as filesIn } from '@kansoku/kit/testing/captures';
import { formatAsPath } from '../../src/decoders/bgp/as-path.ts';
import type { AsPathSegment } from '../../src/decoders/bgp/types.ts';

export const mrtCaptures = join(capturesRoot(), 'mrt');
export const haveMrtCaptures = capturesPresent('mrt');

/** The MRT captures that ship with bgpdump's expected output. */
export function mrtWithExpected(): string[] {
  return filesIn('mrt', /\.bgp\.gz$/).map((name) => name.replace(/\.bgp\.gz$/, ''));
}

export interface BgpdumpSummary {
  /** `A|peer|prefix[#id]|path` for B and A lines, `W|peer|prefix` for W lines, sorted. */
  routes: string[];
  announces: number;
  withdrawals: number;
  stateChanges: number;
  /** STATE lines into or out of Established (6). */
  establishedChanges: number;
  /** The file's RIB entries carry path ids (TABLE_DUMP2_AP lines): printed even when 0. */
  addPath: boolean;
}

export function readBgpdump(file: string): BgpdumpSummary {
  const text = gunzipSync(readFileSync(join(mrtCaptures, `${file}.bgp.gz`))).toString('utf8');
  const out: BgpdumpSummary = {
    routes: [],
    announces: 0,
    withdrawals: 0,
    stateChanges: 0,
    establishedChanges: 0,
    addPath: false,
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split('|');
    const addPath = f[0] === 'TABLE_DUMP2_AP';
    if (addPath) out.addPath = true;
    switch (f[2]) {
      case 'B':
      case 'A': {
        const prefix = addPath ? `${f[5]}#${f[6]}` : f[5];
        const path = addPath ? f[7] : f[6];
        out.routes.push(`A|${f[3]}|${prefix}|${path}`);
        out.announces++;
        break;
      }
      case 'W':
        out.routes.push(`W|${f[3]}|${f[5]}`);
        out.withdrawals++;
        break;
      case 'STATE':
        out.stateChanges++;
        if ((f[5] === '6') !== (f[6] === '6')) out.establishedChanges++;
        break;
    }
  }
  out.routes.sort();
  return out;
}

/** `addPath`: print the path id even when 0, as bgpdump does for ADD-PATH RIB entries. */
export function ourRouteLines(updates: readonly RouteUpdate[], addPath = false): string[] {
  return updates
    .map((u) => {
      const prefix = `${formatIpAddress(u.prefix)}/${u.prefixLength}`;
      const peer = formatIpAddress(u.peer!.address);
      if (u.action === RouteAction.WITHDRAW) return `W|${peer}|${prefix}`;
      const id = addPath || u.pathId !== 0 ? `#${u.pathId}` : '';
      return `A|${peer}|${prefix}${id}|${formatAsPath(u.asPath as unknown as AsPathSegment[])}`;
    })
    .sort();
}
