import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, type Registry, silentLogger } from '@kansoku/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlowsCollector } from '../../src/collector/collector.ts';
import { readTemplateState, writeTemplateState } from '../../src/collector/state-file.ts';
import { createNetflowDecoder } from '../../src/decoders/netflow/index.ts';
import { testCollectorConfig } from './collector-config.ts';
import { dataMessage, templateMessage, testFlow } from './ipfix-packets.ts';

const exporter = { address: parseIpAddress('192.0.2.10'), port: 40_000 };
const flows = [testFlow(0), testFlow(1), testFlow(2)];
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-state-'));
  dirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const newRegistry = (): Registry => createMetricsRegistry({ processMetrics: false });

describe('template state file', () => {
  it('round-trips: a decoder restored from the file decodes data whose template it never saw', async () => {
    const path = join(tempDir(), 'nested', 'dir', 'templates.json');
    const before = createNetflowDecoder();
    expect(before.decode(templateMessage(7, 0), exporter, 1n)).toEqual([]);
    await writeTemplateState(path, before.snapshot());
    // Only the file is left in the directory: the temporary file was renamed over it.
    expect(readdirSync(join(path, '..'))).toEqual(['templates.json']);

    const read = await readTemplateState(path);
    expect(read.status).toBe('loaded');
    const after = createNetflowDecoder();
    expect(after.restore(read.status === 'loaded' ? read.snapshot : undefined)).toMatchObject({
      exporters: 1,
      templates: 1,
      rejected: 0,
    });
    const records = after.decode(dataMessage(7, 0, flows), exporter, 2n);
    expect(records.map((r) => [r.srcPort, r.dstPort, r.bytes, r.packets])).toEqual(
      flows.map((f) => [f.srcPort, f.dstPort, BigInt(f.bytes), BigInt(f.packets)]),
    );
    // Without the state, the same data is only held.
    expect(createNetflowDecoder().decode(dataMessage(7, 0, flows), exporter, 2n)).toEqual([]);
  });

  it('overwrites the previous state whole', async () => {
    const path = join(tempDir(), 'templates.json');
    writeFileSync(path, 'x'.repeat(100_000));
    await writeTemplateState(path, createNetflowDecoder().snapshot());
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ exporters: [] });
  });

  it('reads a missing file as missing and a truncated one as corrupt', async () => {
    const dir = tempDir();
    expect(await readTemplateState(join(dir, 'none.json'))).toEqual({ status: 'missing' });
    const path = join(dir, 'templates.json');
    writeFileSync(path, '{"format":"kansoku.netflow.templates","version":1,"expo');
    const read = await readTemplateState(path);
    expect(read.status).toBe('corrupt');
    expect(read.status === 'corrupt' && read.reason).toMatch(/not JSON/);
  });
});

describe('collector with a state file', () => {
  const config = (stateFile: string) => testCollectorConfig({ stateFile });

  const producer = { send: async () => undefined };

  async function counterValue(registry: Registry, name: string, labels: Record<string, string>) {
    const metric = await registry.getSingleMetric(name)?.get();
    return (
      metric?.values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
        ?.value ?? 0
    );
  }

  it.each([
    ['not JSON', 'garbage{'],
    ['JSON of something else', '{"hello":"world"}'],
    ['an empty file', ''],
  ])('starts without templates when the file is %s, and counts it', async (_, content) => {
    const path = join(tempDir(), 'templates.json');
    writeFileSync(path, content);
    const registry = newRegistry();
    const collector = createFlowsCollector(config(path), {
      producer,
      log: silentLogger(),
      metrics: registry,
    });
    await collector.start();
    try {
      expect(collector.netflowDecoder.snapshot().exporters).toEqual([]);
      expect(
        await counterValue(registry, 'kansoku_flows_collector_state_file_total', {
          operation: 'read',
          outcome: 'corrupt',
        }),
      ).toBe(1);
    } finally {
      await collector.stop();
    }
    // The stop wrote a valid (empty) state over the corrupt one.
    expect((await readTemplateState(path)).status).toBe('loaded');
  });

  it('saves on stop and restores at start', async () => {
    const path = join(tempDir(), 'templates.json');
    const first = createFlowsCollector(config(path), {
      producer,
      log: silentLogger(),
      metrics: newRegistry(),
    });
    await first.start();
    first.netflowDecoder.decode(templateMessage(3, 0), exporter, 1n);
    await first.stop();

    const registry = newRegistry();
    const second = createFlowsCollector(config(path), { producer, log: silentLogger(), metrics: registry });
    await second.start();
    try {
      expect(second.netflowDecoder.decode(dataMessage(3, 0, flows), exporter, 2n)).toHaveLength(3);
      expect(
        await counterValue(registry, 'kansoku_flows_collector_state_file_total', {
          operation: 'read',
          outcome: 'loaded',
        }),
      ).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
