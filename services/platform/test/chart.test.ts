/**
 * The Helm chart (charts/kansoku) against the platform it deploys: every service the platform has gets a
 * Deployment running `kansoku run <service>`, the configuration file the chart renders is one the platform
 * loads without error, and listening services bind the pod's addresses on the ports their config uses.
 * Rendered with the real helm (built by .ci/install-helm.sh into .cache/bin); skipped, saying so, without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { platformModules } from '../src/modules.ts';
import { loadPlatformConfig } from '../src/platform.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const chart = join(repoRoot, 'charts', 'kansoku');

function findHelm(): string | undefined {
  const cached = join(repoRoot, '.cache', 'bin', 'helm');
  if (existsSync(cached)) return cached;
  const onPath = spawnSync('helm', ['version', '--short'], { encoding: 'utf8' });
  return onPath.status === 0 ? 'helm' : undefined;
}

const helm = findHelm();
if (!helm) {
  process.stderr.write('chart tests skipped: no helm (bash .ci/install-helm.sh builds it with Go)\n');
}

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function render(args: string[] = []): { objects: K8sObject[]; stderr: string; status: number | null } {
  const result = spawnSync(helm!, ['template', 'noc', chart, ...args], { encoding: 'utf8' });
  const objects =
    result.status === 0
      ? parseAllDocuments(result.stdout)
          .map((doc) => doc.toJS() as K8sObject | null)
          .filter((o): o is K8sObject => o !== null)
      : [];
  return { objects, stderr: result.stderr, status: result.status };
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

describe.skipIf(!helm)('Helm chart charts/kansoku', { timeout: 60_000 }, () => {
  it('passes helm lint --strict', () => {
    const result = spawnSync(helm!, ['lint', '--strict', chart], { encoding: 'utf8' });
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it('has one Deployment per platform service, each running `kansoku run <service>`', () => {
    const { objects, status, stderr } = render();
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const services = platformModules().flatMap((m) => m.services.map((s) => s.name));
    const deployments = byKind(objects, 'Deployment');
    expect(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual(
      [...services].sort(),
    );
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0];
      const component = deployment.metadata.labels?.['app.kubernetes.io/component'];
      expect(container.args).toEqual(['run', component]);
      const env = Object.fromEntries(
        (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
      );
      expect(env.KANSOKU_CONFIG).toBe('/etc/kansoku/kansoku.yaml');
    }
  });

  it('renders a configuration file the platform loads, with the external systems and extra sections', () => {
    const { objects } = render([
      '--set',
      'clickhouse.url=http://ch.example:8123',
      '--set',
      'kafka.brokers={k1:9092,k2:9092}',
      '--set',
      'config.flowsCollector.defaultSamplingRate=100',
    ]);
    const configMap = byKind(objects, 'ConfigMap')[0]!;
    const file = join(mkdtempSync(join(tmpdir(), 'kansoku-chart-')), 'kansoku.yaml');
    writeFileSync(file, configMap.data!['kansoku.yaml']!);
    const config = loadPlatformConfig(file, {});
    const dump = config.dump();
    expect(dump).toContain('http://ch.example:8123');
    expect(dump).toMatch(/brokers:\n\s+- k1:9092\n\s+- k2:9092/);
    expect(dump).toMatch(/defaultSamplingRate: 100/);
  });

  it('binds listening services to the pod address on the ports their configuration uses', () => {
    const { objects } = render();
    const config = loadPlatformConfig(undefined, {}).dump();
    const collector = byKind(objects, 'Service').find(
      (s) => s.metadata.name === 'noc-kansoku-flows-collector',
    )!;
    const ports = (collector.spec.ports as { port: number; protocol: string }[]).map(
      (p) => `${p.port}/${p.protocol}`,
    );
    for (const [key, protocol] of [
      ['netflowPort', 'UDP'],
      ['ipfixPort', 'UDP'],
      ['ipfixTcpPort', 'TCP'],
      ['sflowPort', 'UDP'],
    ] as const) {
      const port = new RegExp(`${key}: (\\d+)`).exec(config)?.[1];
      expect(ports).toContain(`${port}/${protocol}`);
    }
    const portOf = (section: string) =>
      new RegExp(`${section}:\\n(?:  .*\\n)*?  port: (\\d+)`).exec(config)?.[1];
    for (const [service, section] of [
      ['dns-collector', 'dnsCollector'],
      ['bgp-station', 'bgpStation'],
    ] as const) {
      const rendered = byKind(objects, 'Service').find((s) => s.metadata.name === `noc-kansoku-${service}`);
      expect(
        rendered?.spec.ports.map((p: { port: number }) => String(p.port)),
        service,
      ).toContain(portOf(section));
    }
    // Exporter state is per pod: one exporter must keep reaching the same pod, with its own source address.
    expect(collector.spec.sessionAffinity).toBe('ClientIP');
    expect(collector.spec.externalTrafficPolicy).toBe('Local');
    for (const deployment of byKind(objects, 'Deployment')) {
      const env = deployment.spec.template.spec.containers[0].env as { name: string; value: string }[];
      const binds = env.filter((e) => /_(HOST|ADDRESS)$/.test(e.name));
      // Every service either listens (gateway, collectors) or serves /metrics: both must leave loopback.
      expect(binds.length, deployment.metadata.name).toBeGreaterThan(0);
      for (const bind of binds) expect(bind.value).toBe('0.0.0.0');
    }
  });

  it('refuses to render without a ClickHouse URL, and uses an existing Secret when named', () => {
    const missing = render(['--set', 'clickhouse.url=']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('clickhouse.url is required');

    const own = render(['--set', 'secrets.existingSecret=noc-tokens']);
    expect(byKind(own.objects, 'Secret')).toHaveLength(0);
    for (const deployment of byKind(own.objects, 'Deployment')) {
      expect(deployment.spec.template.spec.containers[0].envFrom).toEqual([
        { secretRef: { name: 'noc-tokens' } },
      ]);
    }
  });

  it('puts gateway tokens in the Secret, not in the ConfigMap', () => {
    const { objects } = render([
      '--set',
      'secrets.gatewayTokens={admin:s3cret-token-1,viewer:s3cret-token-2}',
    ]);
    const secret = byKind(objects, 'Secret')[0]!;
    expect(secret.stringData?.KANSOKU_GATEWAY_TOKENS).toBe('admin:s3cret-token-1,viewer:s3cret-token-2');
    expect(JSON.stringify(byKind(objects, 'ConfigMap'))).not.toContain('s3cret');
  });
});
