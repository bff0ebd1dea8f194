/**
 * Datagrams the kernel dropped on a bound UDP socket (receive buffer full), from /proc/net/udp and
 * /proc/net/udp6: the same count for any receiver, ours or a peer, so losses can be told apart from decode
 * or publish failures. Linux only; elsewhere `undefined`.
 */
import { readFileSync } from 'node:fs';

/** Sum of the `drops` column over the sockets bound to `port` (any address). */
export function parseUdpDrops(table: string, port: number): number {
  let drops = 0;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const last = fields[fields.length - 1];
    if (local === undefined || last === undefined || fields.length < 13) continue;
    const portHex = local.slice(local.lastIndexOf(':') + 1);
    if (Number.parseInt(portHex, 16) === port) drops += Number(last);
  }
  return drops;
}

export function udpDrops(port: number): number | undefined {
  let total = 0;
  let found = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      total += parseUdpDrops(readFileSync(file, 'utf8'), port);
      found = true;
    } catch {
      // Not Linux, or no IPv6.
    }
  }
  return found ? total : undefined;
}
