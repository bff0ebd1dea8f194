/**
 * Application names from IP protocol and transport ports, shared by every flow decoder (NetFlow/IPFIX and
 * sFlow fill `application_name` the same way). A flow matches a rule when either of its ports is the rule's
 * well-known port: a server's replies carry it as the source port, a client's requests as the destination.
 * The table is deliberately small: the names the NOC's dashboards group by (the report's protocol + port
 * mix), not a port registry.
 */

const TCP = 6;
const UDP = 17;

const TCP_PORTS: ReadonlyMap<number, string> = new Map([
  [20, 'FTP'],
  [21, 'FTP'],
  [22, 'SSH'],
  [23, 'Telnet'],
  [25, 'SMTP'],
  [53, 'DNS'],
  [80, 'HTTP'],
  [110, 'POP3'],
  [143, 'IMAP'],
  [179, 'BGP'],
  [443, 'HTTPS'],
  [445, 'SMB'],
  [465, 'SMTPS'],
  [587, 'SMTP'],
  [853, 'DNS-over-TLS'],
  [993, 'IMAPS'],
  [995, 'POP3S'],
  [1935, 'RTMP'],
  [3389, 'RDP'],
  [8080, 'HTTP'],
  [8443, 'HTTPS'],
]);

const UDP_PORTS: ReadonlyMap<number, string> = new Map([
  [53, 'DNS'],
  [67, 'DHCP'],
  [68, 'DHCP'],
  [69, 'TFTP'],
  [123, 'NTP'],
  [161, 'SNMP'],
  [162, 'SNMP'],
  [443, 'QUIC'],
  [500, 'IKE'],
  [514, 'Syslog'],
  [853, 'DNS-over-QUIC'],
  [1194, 'OpenVPN'],
  [3478, 'STUN'],
  [4500, 'IPsec'],
  [5353, 'mDNS'],
]);

/** Protocols named by their number alone (no ports). */
const PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [1, 'ICMP'],
  [47, 'GRE'],
  [50, 'IPsec'],
  [58, 'ICMPv6'],
  [89, 'OSPF'],
  [112, 'VRRP'],
]);

/**
 * The application of a flow, or '' when no rule matches. When both ports are well known (DNS between two
 * resolvers, 53 ↔ 53, or an odd 25 ↔ 80), the lower port wins: the lower one is the likelier server side.
 */
export function applicationName(protocol: number, srcPort: number, dstPort: number): string {
  const ports = protocol === TCP ? TCP_PORTS : protocol === UDP ? UDP_PORTS : undefined;
  if (ports === undefined) return PROTOCOLS.get(protocol) ?? '';
  const low = Math.min(srcPort, dstPort);
  const high = Math.max(srcPort, dstPort);
  return ports.get(low) ?? ports.get(high) ?? '';
}
