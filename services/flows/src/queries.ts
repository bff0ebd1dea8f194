import { defineQuery, TimeRangeParams, validateTimeRange } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';

const FilterParams = {
  exporter: Type.Optional(
    Type.String({
      maxLength: 64,
      pattern: '^[0-9A-Fa-f:.]*$',
      description: 'Exporter address; all when absent',
    }),
  ),
};

/** Fig. 6 of the report: traffic by IP version over time (the IPv6 share is derived from it). */
export const trafficByIpVersion = defineQuery({
  domain: 'flows',
  name: 'traffic-by-ip-version',
  summary: 'Traffic by IP version over time (bps, pps)',
  description: 'Per step: bits and packets per second for IPv4 and IPv6, and the flow count.',
  params: Type.Object({ ...TimeRangeParams, ...FilterParams }),
  validate: validateTimeRange,
  async run(p, { warehouse }) {
    const rows = await warehouse.query<{
      time: string;
      ip_version: string;
      bytes: string;
      packets: string;
      flows: string;
    }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond({step:UInt32}))) * 1000 AS time,
              multiIf(ip_version = 6, 'IPv6', ip_version = 4, 'IPv4', 'unknown') AS ip_version,
              sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
       FROM {{db}}.flows_traffic_1m
       WHERE minute >= toDateTime(intDiv({from:UInt64}, 1000)) AND minute < toDateTime(intDiv({to:UInt64}, 1000))
         AND ({exporter:String} = '' OR exporter = {exporter:String})
       GROUP BY time, ip_version ORDER BY time, ip_version`,
      { from: p.from, to: p.to, step: p.step, exporter: p.exporter ?? '' },
    );
    return {
      columns: [
        { name: 'time', type: 'time' },
        { name: 'ip_version', type: 'string' },
        { name: 'bps', type: 'number', unit: 'bps' },
        { name: 'pps', type: 'number', unit: 'pps' },
        { name: 'flows', type: 'number' },
      ],
      rows: rows.map((r) => ({
        time: Number(r.time),
        ip_version: r.ip_version,
        bps: (Number(r.bytes) * 8) / p.step,
        pps: Number(r.packets) / p.step,
        flows: Number(r.flows),
      })),
    };
  },
});

/** Totals over a range: what an operator checks first, and what the end-to-end tests count. */
export const trafficTotals = defineQuery({
  domain: 'flows',
  name: 'totals',
  summary: 'Total flows, bytes and packets in a range',
  description: 'Sums of the per-minute rollup over the range, optionally for one exporter.',
  params: Type.Object({ ...TimeRangeParams, ...FilterParams }),
  validate: validateTimeRange,
  async run(p, { warehouse }) {
    const [row] = await warehouse.query<{ flows: string; bytes: string; packets: string }>(
      `SELECT sum(flows) AS flows, sum(bytes) AS bytes, sum(packets) AS packets
       FROM {{db}}.flows_traffic_1m
       WHERE minute >= toDateTime(intDiv({from:UInt64}, 1000)) AND minute < toDateTime(intDiv({to:UInt64}, 1000))
         AND ({exporter:String} = '' OR exporter = {exporter:String})`,
      { from: p.from, to: p.to, exporter: p.exporter ?? '' },
    );
    return {
      columns: [
        { name: 'flows', type: 'number' },
        { name: 'bytes', type: 'number', unit: 'bytes' },
        { name: 'packets', type: 'number' },
      ],
      rows: [
        {
          flows: Number(row?.flows ?? 0),
          bytes: Number(row?.bytes ?? 0),
          packets: Number(row?.packets ?? 0),
        },
      ],
    };
  },
});

export const flowsQueries = [trafficByIpVersion, trafficTotals];
