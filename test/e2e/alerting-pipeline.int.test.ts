/**
 * The alerting engine end to end on real parts: rules over flows rollups in an embedded ClickHouse,
 * a real Alertmanager (Debian's prometheus-alertmanager, started here on a free port with clustering
 * off) queried with amtool, the real NATS JetStream, a local PagerDuty Events v2 receiver, and a
 * webhook receiver that fails its first deliveries. An alert fires on an empty warehouse (no flows),
 * resolves once flows arrive, while a per-series rule fires for the IPv6 series only; a detection
 * published by the flows exporter-silence detector through NATS becomes an alert too, while Alertmanager
 * is down (its outbox holds the alert until it is back; the other notifiers page at once); state
 * survives a restart of the engine without paging again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createExporterSilenceDetector, flowsMigrations, flowsQueries } from '@kansoku/flows';
import {
  createMetricsRegistry,
  createNats,
  createNatsDetectionEmitter,
  migrate,
  type Nats,
  silentLogger,
} from '@kansoku/kit';
import { openTestWarehouse, type TestWarehouse } from '@kansoku/kit/testing/warehouse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertingEngine,
  alertingMigrations,
  alertingQueries,
  createAlertingEngine,
  createAlertmanagerNotifier,
  createNatsNotifier,
  createOutbox,
  createPagerDutyNotifier,
  createWebhookNotifier,
  fingerprint,
  loadRuleFiles,
  type Notification,
  type Outbox,
} from '../../services/alerting/src/index.ts';
import { freePort, waitFor } from '../support/platform-process.ts';

const run = promisify(execFile);
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const NATS_SERVERS = (process.env.KANSOKU_NATS_SERVERS ?? '127.0.0.1:4222').split(',');
const id = randomUUID().slice(0, 8);
const SUBJECT_PREFIX = `test-${id}.alerts`;
const STREAM = `TEST_ALERTS_${id}`;
const ROUTING_KEY = `routing-${id}`;
const EXPORTER = `198.51.100.${(Number.parseInt(id.slice(0, 2), 16) % 200) + 20}`;
const WEBHOOK_FAILURES = 3;

const RULES = `
groups:
  - name: test-flows
    interval: 1s
    rules:
      - alert: FlowsAbsent
        query: flows/totals
        range: 1m
        condition:
          threshold: { value: flows, reducer: last, op: "<", bound: 1 }
        labels: { severity: critical, team: noc }
        annotations:
          summary: No flow records for a minute ({{ $value }} flows)
      - alert: HighIPv6Traffic
        query: flows/traffic-by-ip-version
        params: { step: 60 }
        range: 2m
        condition:
          threshold: { value: bps, reducer: max, op: ">", bound: 1000000 }
        labels: { severity: warning }
        annotations:
          summary: "{{ $labels.ip_version }} at {{ $value | humanizeBits }}"
`;

interface Received {
  path: string;
  body: Record<string, unknown>;
}

/** A local HTTP receiver answering `status(n)` to the n-th request (0-based), recording bodies. */
async function receiver(
  status: (n: number) => number,
): Promise<{ server: Server; url: string; got: Received[]; requests: () => number }> {
  const got: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status(n++);
      if (code < 300)
        got.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(code, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}`, got, requests: () => n };
}

async function amtoolAlerts(
  url: string,
): Promise<{ labels: Record<string, string>; status: { state: string } }[]> {
  const { stdout } = await run('amtool', [`--alertmanager.url=${url}`, 'alert', 'query', '-o', 'json']);
  return JSON.parse(stdout);
}

describe('alerting engine with Alertmanager, JetStream, PagerDuty and webhooks', () => {
  let dir: string;
  let wh: TestWarehouse;
  let nats: Nats;
  let alertmanager: ChildProcess;
  let amUrl: string;
  let amLog = '';
  let pagerduty: Awaited<ReturnType<typeof receiver>>;
  let webhook: Awaited<ReturnType<typeof receiver>>;
  const jetstreamMessages: Notification[] = [];
  let engine: AlertingEngine;
  let outboxes: Outbox[];
  const rulesFile = () => join(dir, 'test.rules.yaml');

  /** Starts Alertmanager on amUrl's port (again, after a stop), waiting until it is ready. */
  async function startAlertmanager() {
    const port = new URL(amUrl).port;
    alertmanager = spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    alertmanager.stderr?.on('data', (c: Buffer) => {
      amLog = (amLog + c.toString()).slice(-4000);
    });
    await waitFor(
      'Alertmanager ready',
      async () => ((await fetch(`${amUrl}/-/ready`)).ok ? true : undefined),
      {
        timeoutMs: 30_000,
        context: () => amLog,
      },
    );
  }
  async function stopAlertmanager() {
    const exited = new Promise((resolve) => alertmanager.once('exit', resolve));
    alertmanager.kill('SIGTERM');
    await exited;
  }

  function build() {
    const log = silentLogger();
    const metrics = createMetricsRegistry({ processMetrics: false });
    const notifiers = [
      createAlertmanagerNotifier({ url: amUrl, timeoutMs: 5000, firingEndsAfterMs: 60_000 }),
      createPagerDutyNotifier({
        url: `${pagerduty.url}/v2/enqueue`,
        routingKey: ROUTING_KEY,
        timeoutMs: 5000,
        minSeverity: 'warning',
        source: 'kansoku-test',
      }),
      createWebhookNotifier(
        { url: `${webhook.url}/hook`, timeoutMs: 5000, externalUrl: 'http://kansoku.test' },
        0,
      ),
      createNatsNotifier(
        { stream: STREAM, subjectPrefix: SUBJECT_PREFIX, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 },
        { nats },
      ),
    ];
    outboxes = notifiers.map((n) =>
      createOutbox(
        n,
        { dir: join(dir, 'outbox', n.name), retryInitialMs: 50, retryMaxMs: 200 },
        { log, metrics },
      ),
    );
    engine = createAlertingEngine(
      {
        groups: loadRuleFiles([rulesFile()], flowsQueries),
        detectionsSubject: 'kansoku.detections.flows.>',
        detectionStaleMs: 0,
        resendIntervalMs: 1000,
        externalUrl: '',
      },
      {
        warehouse: wh.warehouse,
        queries: [...flowsQueries, ...alertingQueries],
        nats,
        outboxes,
        log,
        metrics,
      },
    );
  }
  async function startEngine() {
    for (const o of outboxes) await o.start();
    await engine.start();
  }
  async function stopEngine() {
    await engine.stop();
    for (const o of [...outboxes].reverse()) await o.stop();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kansoku-alerting-'));
    writeFileSync(rulesFile(), RULES);
    wh = await openTestWarehouse();
    await migrate(wh.warehouse, [...flowsMigrations, ...alertingMigrations], { log: silentLogger() });
    nats = createNats(
      { servers: NATS_SERVERS, name: `alerting-test-${id}`, token: '', connectTimeoutMs: 5000 },
      { log: silentLogger() },
    );
    await nats.start();

    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      'route:\n  receiver: default\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: default\n',
    );
    await startAlertmanager();

    pagerduty = await receiver(() => 202);
    webhook = await receiver((n) => (n < WEBHOOK_FAILURES ? 503 : 200));

    build();
    await startEngine();

    // The stream exists once the first alert went out; read it with an ordered consumer.
    await waitFor(
      'alerts stream',
      async () => {
        const jsm = await nats.jetstreamManager();
        return (await jsm.streams.info(STREAM)) ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const consumer = await nats.jetstream().consumers.get(STREAM);
    const messages = await consumer.consume();
    (async () => {
      for await (const m of messages) {
        jetstreamMessages.push({ ...(m.json() as Notification), subject: m.subject } as Notification);
      }
    })().catch(() => undefined);
  }, 120_000);

  afterAll(async () => {
    await stopEngine().catch(() => undefined);
    try {
      const jsm = await nats.jetstreamManager();
      await jsm.streams.delete(STREAM);
    } catch {
      // already gone
    }
    await nats?.stop();
    alertmanager?.kill('SIGTERM');
    pagerduty?.server.close();
    webhook?.server.close();
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const absent = fingerprint('FlowsAbsent', { severity: 'critical', team: 'noc' });
  const ipv6 = fingerprint('HighIPv6Traffic', { severity: 'warning', ip_version: 'IPv6' });
  const silent = fingerprint('FlowsExporterSilent', {
    exporter: EXPORTER,
    domain: 'flows',
    detector: 'exporter-silent',
    severity: 'warning',
  });
  const pdEvents = (fp: string) => pagerduty.got.map((r) => r.body).filter((b) => b.dedup_key === fp);

  it('fires on an empty warehouse: Alertmanager (amtool), JetStream, PagerDuty and a flaky webhook all get it', async () => {
    const shown = await waitFor(
      'FlowsAbsent in amtool',
      async () => (await amtoolAlerts(amUrl)).find((a) => a.labels.alertname === 'FlowsAbsent'),
      { timeoutMs: 30_000, context: () => amLog },
    );
    expect(shown.labels).toMatchObject({ severity: 'critical', team: 'noc' });
    expect(shown.status.state).toBe('active');

    const [trigger] = await waitFor(
      'PagerDuty trigger',
      async () => (pdEvents(absent).length ? pdEvents(absent) : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: absent,
      payload: {
        summary: 'No flow records for a minute (0 flows)',
        source: 'kansoku-test',
        severity: 'critical',
        class: 'FlowsAbsent',
        group: 'noc',
        custom_details: { fingerprint: absent, value: 0, labels: { alertname: 'FlowsAbsent', team: 'noc' } },
      },
    });
    expect(
      Date.parse(String((trigger?.payload as Record<string, unknown> | undefined)?.timestamp)),
    ).toBeGreaterThan(0);

    const onStream = await waitFor(
      'JetStream firing',
      async () => jetstreamMessages.find((m) => m.fingerprint === absent && m.status === 'firing'),
      { timeoutMs: 15_000 },
    );
    expect((onStream as unknown as { subject: string }).subject).toBe(`${SUBJECT_PREFIX}.critical`);
    expect(onStream.alertname).toBe('FlowsAbsent');

    const hook = await waitFor(
      'webhook after its failures',
      async () =>
        webhook.got.find((r) => (r.body.alerts as { fingerprint: string }[])[0]?.fingerprint === absent),
      { timeoutMs: 15_000 },
    );
    expect(hook.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'kansoku',
      groupLabels: { alertname: 'FlowsAbsent' },
      externalURL: 'http://kansoku.test',
      alerts: [
        { status: 'firing', labels: { alertname: 'FlowsAbsent', severity: 'critical' }, fingerprint: absent },
      ],
    });

    const firing = await alertingQueries[0]?.run({} as never, { warehouse: wh.warehouse });
    expect(firing?.rows.find((r) => r.fingerprint === absent)).toMatchObject({
      alertname: 'FlowsAbsent',
      severity: 'critical',
      summary: 'No flow records for a minute (0 flows)',
      value: 0,
    });
  });

  it('resolves when flows arrive, while the per-series rule fires for IPv6 only', async () => {
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    const rows = [];
    for (let m = -5; m <= 3; m++) {
      const time = (minute + m * 60_000) / 1000;
      const base = {
        time,
        exporter: EXPORTER,
        in_interface: 1,
        out_interface: 2,
        protocol: 6,
        src_port: 443,
        application: 'https',
        src_as: 64500,
        dst_as: 64501,
      };
      rows.push({ ...base, ip_version: 6, bytes: 1e9, packets: 1e6, flows: 100 });
      rows.push({ ...base, ip_version: 4, bytes: 1000, packets: 10, flows: 5 });
    }
    await wh.warehouse.insert('{{db}}.flows_traffic_1m', rows);

    await waitFor(
      'FlowsAbsent gone from amtool',
      async () => {
        const alerts = await amtoolAlerts(amUrl);
        return alerts.some((a) => a.labels.alertname === 'FlowsAbsent') ? undefined : true;
      },
      { timeoutMs: 30_000 },
    );
    const resolve = await waitFor(
      'PagerDuty resolve',
      async () => pdEvents(absent).find((e) => e.event_action === 'resolve'),
      {
        timeoutMs: 15_000,
      },
    );
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: absent });
    await waitFor(
      'JetStream resolved',
      async () => jetstreamMessages.find((m) => m.fingerprint === absent && m.status === 'resolved'),
      { timeoutMs: 15_000 },
    );

    const shown = await waitFor(
      'HighIPv6Traffic in amtool',
      async () => (await amtoolAlerts(amUrl)).find((a) => a.labels.alertname === 'HighIPv6Traffic'),
      { timeoutMs: 30_000 },
    );
    expect(shown.labels).toMatchObject({ ip_version: 'IPv6', severity: 'warning' });
    expect((await amtoolAlerts(amUrl)).filter((a) => a.labels.alertname === 'HighIPv6Traffic')).toHaveLength(
      1,
    );
    await waitFor('PagerDuty trigger for IPv6', async () => (pdEvents(ipv6).length ? true : undefined), {
      timeoutMs: 15_000,
    });
    expect((pdEvents(ipv6)[0]?.payload as { summary: string } | undefined)?.summary).toBe('IPv6 at 133 Mbps');

    const history = await alertingQueries[1]?.run(
      { from: now - 3_600_000, to: Date.now() + 1000, fingerprint: absent, limit: 100 } as never,
      { warehouse: wh.warehouse },
    );
    expect(history?.rows.map((r) => `${r.from_state}→${r.state}`).reverse()).toEqual([
      'inactive→firing',
      'firing→resolved',
    ]);
  });

  it('turns a detection from the flows exporter-silence detector (over NATS) into an alert, through an Alertmanager outage', async () => {
    // Alertmanager is down when the detection fires: the others page at once, its outbox keeps the alert.
    await stopAlertmanager();
    const amOutbox = outboxes.find((o) => o.notifier.name.startsWith('alertmanager'));
    const emitter = createNatsDetectionEmitter(nats, {
      log: silentLogger(),
      metrics: createMetricsRegistry({ processMetrics: false }),
    });
    const detector = createExporterSilenceDetector(
      { silentAfterSeconds: 10, minRecordsPerMinute: 1, maxExporters: 10 },
      { emitter },
    );
    const t0 = Date.now() - 120_000;
    for (let i = 0; i < 90; i++) detector.observe(EXPORTER, t0 + i * 1000);
    detector.check(t0 + 90_000 + 11_000);
    await waitFor(
      'PagerDuty trigger while Alertmanager is down',
      async () => (pdEvents(silent).length ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    await waitFor(
      'the alert waiting in the Alertmanager outbox',
      async () => (amOutbox?.depth() ? true : undefined),
      { timeoutMs: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 500)); // a few failed attempts
    await startAlertmanager();
    const shown = await waitFor(
      'FlowsExporterSilent in amtool',
      async () =>
        (await amtoolAlerts(amUrl)).find(
          (a) => a.labels.alertname === 'FlowsExporterSilent' && a.labels.exporter === EXPORTER,
        ),
      {
        timeoutMs: 30_000,
      },
    );
    expect(shown.labels).toMatchObject({ domain: 'flows', detector: 'exporter-silent', severity: 'warning' });
    await waitFor(
      'PagerDuty trigger for the detection',
      async () => (pdEvents(silent).length ? true : undefined),
      { timeoutMs: 15_000 },
    );
    expect((pdEvents(silent)[0]?.payload as { source: string } | undefined)?.source).toBe(EXPORTER);

    // The exporter sends again: the detector resolves, and so does the alert.
    detector.observe(EXPORTER, t0 + 110_000);
    await waitFor(
      'PagerDuty resolve for the detection',
      async () => pdEvents(silent).find((e) => e.event_action === 'resolve'),
      { timeoutMs: 15_000 },
    );
  });

  it('keeps its state across a restart without paging again, and the flaky webhook got every event in order', async () => {
    await waitFor(
      'IPv6 firing in the engine',
      async () =>
        engine.live().some((a) => a.fingerprint === ipv6 && a.state === 'firing') ? true : undefined,
      { timeoutMs: 10_000 },
    );
    // Firing alerts are re-sent (every second here) with an endsAt moved on, as Prometheus does.
    const endsAt = async () => {
      const res = await fetch(
        `${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="HighIPv6Traffic"')}`,
      );
      const [alert] = (await res.json()) as { endsAt: string }[];
      return Date.parse(alert?.endsAt ?? '');
    };
    const firstEnd = await endsAt();
    expect(firstEnd).toBeGreaterThan(Date.now());
    await waitFor(
      'a later endsAt in Alertmanager',
      async () => ((await endsAt()) > firstEnd ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );
    const firedAt = engine.live().find((a) => a.fingerprint === ipv6)?.firedAt;
    const triggersBefore = pdEvents(ipv6).length;
    await stopEngine();
    build();
    await startEngine();
    expect(engine.live().find((a) => a.fingerprint === ipv6)).toMatchObject({ state: 'firing', firedAt });
    await engine.evaluateGroup('test-flows');
    await engine.settled();
    await new Promise((r) => setTimeout(r, 1500));
    expect(pdEvents(ipv6)).toHaveLength(triggersBefore);
    expect(engine.live().find((a) => a.fingerprint === ipv6)?.firedAt).toBe(firedAt);
    expect((await amtoolAlerts(amUrl)).some((a) => a.labels.alertname === 'HighIPv6Traffic')).toBe(true);

    const events = webhook.got.map((r) => {
      const alert = (r.body.alerts as { fingerprint: string; status: string }[])[0];
      return `${alert?.fingerprint}:${alert?.status}`;
    });
    // Every refused request was retried: nothing lost, nothing doubled.
    expect(webhook.requests()).toBe(webhook.got.length + WEBHOOK_FAILURES);
    const mine = events.filter((e) => [absent, ipv6, silent].some((fp) => e.startsWith(fp)));
    expect(mine).toEqual([
      `${absent}:firing`,
      `${absent}:resolved`,
      `${ipv6}:firing`,
      `${silent}:firing`,
      `${silent}:resolved`,
    ]);
  });
});
