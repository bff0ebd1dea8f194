import { describe, expect, it } from 'vitest';
import { applicationName } from '../../../src/decoders/common/applications.ts';

describe('application names (shared by the flow decoders)', () => {
  it.each([
    [6, 51000, 443, 'HTTPS'],
    [17, 51000, 443, 'QUIC'],
    [6, 80, 40000, 'HTTP'],
    [17, 53, 53, 'DNS'],
    [6, 40000, 53, 'DNS'],
    [6, 22, 60000, 'SSH'],
    [6, 25, 80, 'SMTP'],
    [17, 123, 123, 'NTP'],
    [1, 0, 0x0800, 'ICMP'],
    [58, 0, 0x8000, 'ICMPv6'],
    [6, 40000, 50000, ''],
    [17, 443, 0, 'QUIC'],
    [132, 443, 443, ''],
  ])('protocol %i, ports %i → %i: %s', (protocol, srcPort, dstPort, name) => {
    expect(applicationName(protocol, srcPort, dstPort)).toBe(name);
  });
});
