/**
 * The flows domain's own rule file (services/flows/rules/flows.rules.yaml), evaluated with the real flows
 * queries over an embedded ClickHouse holding the current half hour and the same half hour of the four
 * past weeks: the seasonal-baseline rules fire exactly for the series that fell (or vanished), and stay
 * quiet for the ones that did not.
 */
import { fileURLToPath } from 'node:url';
import { flowsMigrations, flowsQueries } from '@kansoku/flows';
import { migrate, silentLogger } from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateRule, loadRuleFiles } from '../../services/alerting/src/index.ts';

const RULES = fileURLToPath(new URL('../../services/flows/rules/flows.rules.yaml', import.meta.url));
const WEEK_MS = 7 * 86_400_000;
const MINUTE_MS = 60_000;
/** Bytes per minute for a rate in bits per second. */
const perMinute = (bps: number) => (bps / 8) * 60;

interface Scenario {
  /** bps per (ip version, interface) now and in the past weeks. */
  now: { v4: number; v6: number; if2: boolean };
  past: { v4: number; v6: number };
}

describe('flows rules over real flows queries', () => {
  let wh: TestWarehouse;
  const groups = loadRuleFiles([RULES], flowsQueries);
  const rule = (name: string) => {
    const found = groups.flatMap((g) => g.rules).find((r) => r.alert === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found;
  };
  const query = (name: string) => {
    const q = flowsQueries.find((x) => `${x.domain}/${x.name}` === name);
    if (!q) throw new Error(`no query ${name}`);
    return q;
  };
  const evaluate = async (name: string, now: number) => {
    const r = rule(name);
    return evaluateRule(r, query(r.query), { warehouse: wh.warehouse, now });
  };

  beforeAll(async () => {
    wh = await openTestWarehouse();
    await migrate(wh.warehouse, flowsMigrations, { log: silentLogger() });
  });
  afterAll(async () => {
    await wh?.close();
  });

  /** Writes 50 minutes around `now` for now and each of the 4 past weeks into a fresh exporter. */
  async function load(exporter: string, now: number, s: Scenario) {
    const rows: Record<string, unknown>[] = [];
    const end = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    for (let week = 0; week <= 4; week++) {
      const rates = week === 0 ? s.now : { ...s.past, if2: true };
      for (let m = -45; m <= 5; m++) {
        const time = (end - week * WEEK_MS + m * MINUTE_MS) / 1000;
        const base = {
          time,
          exporter,
          protocol: 6,
          src_port: 443,
          application: 'https',
          src_as: 64500,
          dst_as: 64501,
        };
        // IPv4 is split over two interfaces; interface 2 may go silent.
        const v4 = rates.if2 ? rates.v4 / 2 : rates.v4;
        rows.push({
          ...base,
          in_interface: 1,
          out_interface: 10,
          ip_version: 4,
          bytes: perMinute(v4),
          packets: 1000,
          flows: 10,
        });
        if (rates.if2) {
          rows.push({
            ...base,
            in_interface: 2,
            out_interface: 10,
            ip_version: 4,
            bytes: perMinute(rates.v4 / 2),
            packets: 1000,
            flows: 10,
          });
        }
        rows.push({
          ...base,
          in_interface: 1,
          out_interface: 10,
          ip_version: 6,
          bytes: perMinute(rates.v6),
          packets: 1000,
          flows: 10,
        });
      }
    }
    await wh.warehouse.insert('{{db}}.flows_traffic_1m', rows);
  }

  it('stays quiet on a normal half hour', async () => {
    const now = Date.UTC(2026, 10, 20, 14, 37, 20) + 10 * WEEK_MS;
    await load('192.0.2.1', now, { now: { v4: 1e9, v6: 5e8, if2: true }, past: { v4: 1e9, v6: 5e8 } });
    for (const name of [
      'TrafficFarBelowBaseline',
      'TrafficFarAboveBaseline',
      'IPv6ShareCollapse',
      'InterfaceTrafficCollapsed',
      'FlowsAbsent',
    ]) {
      const verdicts = await evaluate(name, now);
      expect(verdicts.length, name).toBeGreaterThan(0);
      expect(
        verdicts.filter((v) => v.active),
        name,
      ).toEqual([]);
    }
  });

  it('fires for IPv6 falling, its share collapsing, and an interface going silent', async () => {
    // A different week far from the first scenario's data, so the two do not mix.
    const now = Date.UTC(2026, 10, 20, 14, 37, 20) + 30 * WEEK_MS;
    await load('192.0.2.2', now, { now: { v4: 1e9, v6: 2e7, if2: false }, past: { v4: 1e9, v6: 5e8 } });

    const below = await evaluate('TrafficFarBelowBaseline', now);
    const v6 = below.find((v) => v.labels.ip_version === 'IPv6');
    expect(v6?.active).toBe(true);
    expect(v6?.baseline).toBeGreaterThan(4e8);
    expect(v6?.value).toBeLessThan(3e7);
    // IPv4 fell by half an interface's worth only: 0.5 Gbps of 1 Gbps is not under half.
    expect(below.find((v) => v.labels.ip_version === 'IPv4')?.active).toBe(false);

    const share = await evaluate('IPv6ShareCollapse', now);
    expect(share).toHaveLength(1);
    expect(share[0]?.active).toBe(true);
    expect(share[0]?.baseline).toBeCloseTo(1 / 3, 1);

    const interfaces = await evaluate('InterfaceTrafficCollapsed', now);
    const active = interfaces.filter((v) => v.active).map((v) => v.labels);
    expect(active).toEqual([{ exporter: '192.0.2.2', interface: '2', direction: 'in' }]);
    expect(interfaces.find((v) => v.active)?.value).toBe(0);

    expect((await evaluate('TrafficFarAboveBaseline', now)).filter((v) => v.active)).toEqual([]);
    expect((await evaluate('FlowsAbsent', now)).filter((v) => v.active)).toEqual([]);
  });

  it('fires FlowsAbsent when the last minutes hold nothing', async () => {
    const now = Date.UTC(2026, 10, 20, 3, 0, 0) + 50 * WEEK_MS;
    const verdicts = await evaluate('FlowsAbsent', now);
    expect(verdicts).toEqual([{ labels: {}, value: 0, threshold: 1, active: true }]);
  });
});
