import { createNetflowDecoder } from '@kansoku/flows/decoders/netflow/index';
import { createSflowDecoder } from '@kansoku/flows/decoders/sflow/index';
import { describe, expect, it } from 'vitest';
import { maxHeldRate } from '../../src/benchmarks/flows-vs-nfacctd.ts';
import { type CpuProfile, hotFiles, hotFunctions } from '../../src/flows/cpu-profile.ts';
import { sumCsvFlows } from '../../src/flows/nfacctd.ts';
import { makePacketSet } from '../../src/flows/packets.ts';
import { parseUdpDrops } from '../../src/flows/udp-drops.ts';

const exporter = { address: Uint8Array.of(192, 0, 2, 9), port: 4739 };

describe('benchmark packet sets', () => {
  it('IPFIX: templates in the setup packet, then 24 decodable records in every data packet', () => {
    const set = makePacketSet({ protocol: 'ipfix', packets: 20 });
    expect(set.setup).toHaveLength(1);
    expect(set.data).toHaveLength(20);
    const decoder = createNetflowDecoder();
    // Without the setup packet the data sets wait for their template: no records yet; the setup packet's
    // templates then release them with its own 24.
    expect(decoder.decode(set.data[0]!, exporter, 1n)).toHaveLength(0);
    expect(decoder.decode(set.setup[0]!, exporter, 1n)).toHaveLength(48);
    const decoded = set.data.slice(1).map((packet) => decoder.decode(packet, exporter, 1n).length);
    expect(decoded).toEqual(new Array(19).fill(24));
  });

  it('NetFlow v9 and sFlow carry 24 and 8 records per packet', () => {
    const v9 = makePacketSet({ protocol: 'netflow-v9', packets: 3 });
    const netflow = createNetflowDecoder();
    netflow.decode(v9.setup[0]!, exporter, 1n);
    expect(v9.data.map((p) => netflow.decode(p, exporter, 1n).length)).toEqual([24, 24, 24]);
    const sflowSet = makePacketSet({ protocol: 'sflow', packets: 3 });
    expect(sflowSet.setup).toHaveLength(0);
    const sflow = createSflowDecoder();
    expect(sflowSet.data.map((p) => sflow.decode(p, exporter, 1n).records.length)).toEqual([8, 8, 8]);
  });

  it('is the same for the same seed and differs for another', () => {
    const a = makePacketSet({ protocol: 'ipfix', packets: 2, seed: 5 });
    const b = makePacketSet({ protocol: 'ipfix', packets: 2, seed: 5 });
    const c = makePacketSet({ protocol: 'ipfix', packets: 2, seed: 6 });
    expect(Buffer.concat(a.data).equals(Buffer.concat(b.data))).toBe(true);
    expect(Buffer.concat(a.data).equals(Buffer.concat(c.data))).toBe(false);
  });
});

describe('/proc/net/udp drops', () => {
  const table = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  101: 0100007F:128B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 17',
    '  102: 00000000:128B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1235 2 0000000000000000 3',
    '  103: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1236 2 0000000000000000 99',
  ].join('\n');

  it('sums the drops of every socket bound to the port', () => {
    expect(parseUdpDrops(table, 4747)).toBe(20);
    expect(parseUdpDrops(table, 2055)).toBe(99);
    expect(parseUdpDrops(table, 9999)).toBe(0);
  });
});

describe('nfacctd print output', () => {
  it('sums the FLOWS column of every refresh line', () => {
    expect(sumCsvFlows('PACKETS,FLOWS,BYTES\n840165,24024,1028210978\n10,6,100\n')).toBe(24030);
    expect(sumCsvFlows('')).toBe(0);
    expect(sumCsvFlows('FLOWS,PACKETS\n5,1\nFLOWS,PACKETS\n7,1\n')).toBe(12);
  });
});

describe('highest rate held', () => {
  it('is the top of the unbroken run of passing steps from the lowest rate', () => {
    const steps = [
      { rate: 100, loss: 0 },
      { rate: 50, loss: 0.0002 },
      { rate: 200, loss: 0.01 },
      { rate: 400, loss: 0 },
    ];
    expect(maxHeldRate(steps, 0.001)).toBe(100);
    expect(maxHeldRate([{ rate: 10, loss: 0.5 }], 0.001)).toBe(0);
  });
});

describe('CPU profile summary', () => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 1,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, hitCount: 0 },
      {
        id: 2,
        callFrame: { functionName: 'decode', url: 'file:///r/services/flows/src/a.ts', lineNumber: 9 },
        hitCount: 6,
      },
      {
        id: 3,
        callFrame: { functionName: 'decode', url: 'file:///r/services/flows/src/a.ts', lineNumber: 9 },
        hitCount: 2,
      },
      {
        id: 4,
        callFrame: {
          functionName: 'toBinary',
          url: 'file:///r/node_modules/@bufbuild/protobuf/x.js',
          lineNumber: 0,
        },
        hitCount: 2,
      },
    ],
  };

  it('adds self time per function and per file, largest first', () => {
    expect(hotFunctions(profile)).toEqual([
      { function: 'decode', where: 'services/flows/src/a.ts:10', selfPercent: 80 },
      { function: 'toBinary', where: '@bufbuild/protobuf/x.js:1', selfPercent: 20 },
    ]);
    expect(hotFiles(profile)).toEqual([
      { file: 'services/flows/src/a.ts', selfPercent: 80 },
      { file: '@bufbuild/protobuf/x.js', selfPercent: 20 },
    ]);
  });
});
