import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { FlowRecordSchema, IpVersion } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { describe, expect, it } from 'vitest';
import { rollupPerMinute } from '../src/processor.ts';

const minute = (m: number) => BigInt(1_700_000_040 + m * 60) * 1_000_000_000n;

function record(over: MessageInitShape<typeof FlowRecordSchema>) {
  return create(FlowRecordSchema, {
    timeReceivedNs: minute(0),
    exporterAddress: parseIpAddress('192.0.2.1'),
    ipVersion: IpVersion.V4,
    protocol: 6,
    applicationName: 'HTTPS',
    bytes: 1500n,
    packets: 1n,
    ...over,
  });
}

describe('flows per-minute rollup', () => {
  it('sums records of the same minute and key, and keeps keys apart', () => {
    const out = rollupPerMinute([
      record({}),
      record({ bytes: 500n, packets: 2n }),
      record({ ipVersion: IpVersion.V6, bytes: 100n }),
      record({ timeReceivedNs: minute(1) + 59_000_000_000n }),
      record({ exporterAddress: parseIpAddress('2001:db8::1') }),
    ]);
    expect(out.table).toBe('{{db}}.flows_traffic_1m');
    const m0 = 1_700_000_040;
    expect(out.rows).toEqual([
      {
        minute: m0,
        exporter: '192.0.2.1',
        ip_version: 4,
        protocol: 6,
        application: 'HTTPS',
        bytes: '2000',
        packets: '3',
        flows: 2,
      },
      {
        minute: m0,
        exporter: '192.0.2.1',
        ip_version: 6,
        protocol: 6,
        application: 'HTTPS',
        bytes: '100',
        packets: '1',
        flows: 1,
      },
      {
        minute: m0,
        exporter: '2001:db8::1',
        ip_version: 4,
        protocol: 6,
        application: 'HTTPS',
        bytes: '1500',
        packets: '1',
        flows: 1,
      },
      {
        minute: m0 + 60,
        exporter: '192.0.2.1',
        ip_version: 4,
        protocol: 6,
        application: 'HTTPS',
        bytes: '1500',
        packets: '1',
        flows: 1,
      },
    ]);
  });

  it('gives the same rows for the same records in any order (replays must match)', () => {
    const records = [
      record({}),
      record({ protocol: 17, applicationName: 'QUIC' }),
      record({ timeReceivedNs: minute(3) }),
    ];
    expect(rollupPerMinute(records)).toEqual(rollupPerMinute([...records].reverse()));
  });
});
