/**
 * Kernel counters of UDP sockets from Linux's /proc/net/udp and /proc/net/udp6: the receive queue and the
 * datagrams the kernel dropped because the socket's buffer was full, which no counter in the process can see.
 */

import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface UdpSocketRow {
  localPort: number;
  /** Bytes waiting in the receive queue. */
  rxQueueBytes: number;
  inode: string;
  /** Datagrams dropped by the kernel since the socket was created. */
  drops: number;
}

/** Rows of a /proc/net/udp-style table; lines it cannot read are left out. */
export function parseProcNetUdp(text: string): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || !fields[0]?.endsWith(':')) continue;
    const local = fields[1] ?? '';
    const queues = fields[4] ?? '';
    const colon = local.lastIndexOf(':');
    const queueColon = queues.indexOf(':');
    if (colon < 0 || queueColon < 0) continue;
    const localPort = Number.parseInt(local.slice(colon + 1), 16);
    const rxQueueBytes = Number.parseInt(queues.slice(queueColon + 1), 16);
    const drops = Number.parseInt(fields[12] ?? '', 10);
    const inode = fields[9] ?? '';
    if (Number.isNaN(localPort) || Number.isNaN(rxQueueBytes) || Number.isNaN(drops)) continue;
    rows.push({ localPort, rxQueueBytes, inode, drops });
  }
  return rows;
}

export async function readProcNetUdp(procRoot: string, family: 'IPv4' | 'IPv6'): Promise<UdpSocketRow[]> {
  const path = join(procRoot, 'net', family === 'IPv6' ? 'udp6' : 'udp');
  return parseProcNetUdp(await readFile(path, 'utf8'));
}

/** Inodes of the sockets this process holds open (from the targets of /proc/self/fd links). */
export async function ownSocketInodes(procRoot: string): Promise<Set<string>> {
  const inodes = new Set<string>();
  const dir = join(procRoot, 'self', 'fd');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return inodes;
  }
  await Promise.all(
    entries.map(async (entry) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(await readlink(join(dir, entry)));
        if (match?.[1] !== undefined) inodes.add(match[1]);
      } catch {
        // The descriptor closed meanwhile (readdir's own one does).
      }
    }),
  );
  return inodes;
}

/**
 * Finds the row of one of this process's sockets bound to `port`. The port alone may match sockets of other
 * processes (SO_REUSEADDR) or of both families; the inode, once known, names exactly one.
 */
export class UdpSocketStatsReader {
  readonly #procRoot: string;
  readonly #family: 'IPv4' | 'IPv6';
  readonly #port: number;
  #inode: string | undefined;

  constructor(procRoot: string, family: 'IPv4' | 'IPv6', port: number) {
    this.#procRoot = procRoot;
    this.#family = family;
    this.#port = port;
  }

  /** The socket's row, or undefined when the table is unreadable (not Linux) or has no such socket. */
  async read(): Promise<UdpSocketRow | undefined> {
    const rows = await readProcNetUdp(this.#procRoot, this.#family);
    if (this.#inode !== undefined) {
      const pinned = rows.find((row) => row.inode === this.#inode);
      if (pinned !== undefined) return pinned;
      this.#inode = undefined;
    }
    let candidates = rows.filter((row) => row.localPort === this.#port);
    if (candidates.length > 1) {
      const own = await ownSocketInodes(this.#procRoot);
      const mine = candidates.filter((row) => own.has(row.inode));
      if (mine.length > 0) candidates = mine;
    }
    if (candidates.length === 1) {
      this.#inode = candidates[0]!.inode;
      return candidates[0];
    }
    if (candidates.length === 0) return undefined;
    // Several of our own sockets share the port: report them together, they are one listening point.
    return candidates.reduce((sum, row) => ({
      localPort: sum.localPort,
      inode: sum.inode,
      rxQueueBytes: sum.rxQueueBytes + row.rxQueueBytes,
      drops: sum.drops + row.drops,
    }));
  }
}
