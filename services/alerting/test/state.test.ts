import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/fingerprint.ts';
import { createAlertTable, type OwnerOptions, RESOLVED_RETENTION_MS } from '../src/state.ts';

const rule = (forMs: number, keepFiringForMs: number): OwnerOptions => ({
  owner: 'g/HighTraffic',
  alertname: 'HighTraffic',
  group: 'g',
  source: 'rule',
  forMs,
  keepFiringForMs,
});
const series = (exporter: string, value = 1) => ({
  labels: { severity: 'warning', exporter },
  annotations: { summary: `${exporter} at ${value}` },
  value,
});
const steps = (ts: { from: string; to: string }[]) => ts.map((t) => `${t.from}→${t.to}`);

describe('fingerprints', () => {
  it('depend on name and labels, not on label order', () => {
    const a = fingerprint('X', { b: '2', a: '1' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint('X', { a: '1', b: '2' })).toBe(a);
    expect(fingerprint('X', { a: '1', b: '2', alertname: 'X' })).toBe(a);
    expect(fingerprint('Y', { a: '1', b: '2' })).not.toBe(a);
    expect(fingerprint('X', { a: '1', b: '3' })).not.toBe(a);
    expect(fingerprint('X', { a: '1' })).not.toBe(a);
  });
  it('cannot be forged by moving text across label boundaries', () => {
    expect(fingerprint('X', { a: 'b\u0000c' })).not.toBe(fingerprint('X', { a: 'b', c: '' }));
    expect(fingerprint('X', { ab: 'c' })).not.toBe(fingerprint('X', { a: 'bc' }));
  });
  it('is stable across releases (the PagerDuty dedup_key and the state table key)', () => {
    expect(fingerprint('FlowsAbsent', { severity: 'critical', team: 'noc' })).toBe(
      fingerprint('FlowsAbsent', { team: 'noc', severity: 'critical' }),
    );
    expect(fingerprint('FlowsAbsent', { severity: 'critical', team: 'noc' })).toBe(
      // sha256 of 'alertname\0FlowsAbsent\0severity\0critical\0team\0noc\0', computed apart (Python hashlib).
      '724209132438d0f6',
    );
  });
});

describe('state machine', () => {
  it('goes pending, then firing after `for`, then resolved', () => {
    const table = createAlertTable();
    const r = rule(120_000, 0);
    expect(steps(table.observe(r, [series('a')], 0))).toEqual(['inactive→pending']);
    expect(table.observe(r, [series('a', 2)], 60_000)).toEqual([]);
    const firing = table.observe(r, [series('a', 3)], 120_000);
    expect(steps(firing)).toEqual(['pending→firing']);
    expect(firing[0]?.alert).toMatchObject({ state: 'firing', activeAt: 0, firedAt: 120_000, value: 3 });
    expect(firing[0]?.alert.labels).toEqual({ severity: 'warning', exporter: 'a', alertname: 'HighTraffic' });
    expect(table.observe(r, [series('a', 4)], 180_000)).toEqual([]);
    expect(table.get(firing[0]?.alert.fingerprint ?? '')?.value).toBe(4);
    const resolved = table.observe(r, [], 240_000);
    expect(steps(resolved)).toEqual(['firing→resolved']);
    expect(resolved[0]?.alert).toMatchObject({ firedAt: 120_000, resolvedAt: 240_000 });
    expect(table.live()).toEqual([]);
  });

  it('drops a pending alert whose condition clears before `for`', () => {
    const table = createAlertTable();
    const r = rule(120_000, 0);
    table.observe(r, [series('a')], 0);
    expect(steps(table.observe(r, [], 60_000))).toEqual(['pending→inactive']);
    // Holding again starts the wait over.
    expect(steps(table.observe(r, [series('a')], 90_000))).toEqual(['inactive→pending']);
    expect(table.observe(r, [series('a')], 180_000)).toEqual([]);
    expect(steps(table.observe(r, [series('a')], 210_000))).toEqual(['pending→firing']);
  });

  it('fires at once with for: 0', () => {
    const table = createAlertTable();
    expect(steps(table.observe(rule(0, 0), [series('a')], 5))).toEqual(['inactive→firing']);
  });

  it('keeps firing for keep_firing_for after the condition clears, and a return cancels it', () => {
    const table = createAlertTable();
    const r = rule(0, 300_000);
    table.observe(r, [series('a')], 0);
    expect(table.observe(r, [], 60_000)).toEqual([]);
    expect(table.observe(r, [], 300_000)).toEqual([]);
    // Back before keep_firing_for ran out: still the same firing alert, countdown reset.
    expect(table.observe(r, [series('a')], 330_000)).toEqual([]);
    expect(table.observe(r, [], 400_000)).toEqual([]);
    expect(table.observe(r, [], 690_000)).toEqual([]);
    const resolved = table.observe(r, [], 700_000);
    expect(steps(resolved)).toEqual(['firing→resolved']);
    expect(resolved[0]?.alert.firedAt).toBe(0);
  });

  it('keeps one alert per series and resolves only the one that cleared', () => {
    const table = createAlertTable();
    const r = rule(0, 0);
    const fired = table.observe(r, [series('a'), series('b')], 0);
    expect(steps(fired)).toEqual(['inactive→firing', 'inactive→firing']);
    expect(new Set(fired.map((t) => t.alert.fingerprint)).size).toBe(2);
    const next = table.observe(r, [series('b')], 60_000);
    expect(steps(next)).toEqual(['firing→resolved']);
    expect(next[0]?.alert.labels.exporter).toBe('a');
    expect(table.live().map((a) => a.labels.exporter)).toEqual(['b']);
  });

  it('starts a new occurrence after a resolve, and forgets resolved alerts after the retention', () => {
    const table = createAlertTable();
    const r = rule(0, 0);
    const first = table.observe(r, [series('a')], 0)[0]?.alert;
    table.observe(r, [], 60_000);
    const again = table.observe(r, [series('a')], 120_000);
    expect(steps(again)).toEqual(['inactive→firing']);
    expect(again[0]?.alert.fingerprint).toBe(first?.fingerprint);
    expect(again[0]?.alert.firedAt).toBe(120_000);
    table.observe(r, [], 180_000);
    table.prune(180_000 + RESOLVED_RETENTION_MS + 1);
    expect(table.get(first?.fingerprint ?? '')).toBeUndefined();
  });

  it('takes detections: firing at once, repeats are updates, resolved once', () => {
    const table = createAlertTable();
    const owner = {
      owner: 'detections/flows/ddos',
      alertname: 'FlowsVolumetricDdos',
      group: 'detections/flows',
      source: 'detection' as const,
    };
    const o = {
      labels: { severity: 'critical', destination: '203.0.113.7' },
      annotations: { summary: 'x' },
      value: 5e9,
    };
    expect(steps(table.detection(owner, o, 'firing', { startsAt: 1000 }))).toEqual(['inactive→firing']);
    expect(table.detection(owner, { ...o, value: 7e9 }, 'firing', { startsAt: 1000 })).toEqual([]);
    const resolved = table.detection(owner, o, 'resolved', { startsAt: 1000, endsAt: 9000 });
    expect(steps(resolved)).toEqual(['firing→resolved']);
    expect(resolved[0]?.alert).toMatchObject({ firedAt: 1000, resolvedAt: 9000 });
    expect(table.detection(owner, o, 'resolved', { startsAt: 1000, endsAt: 9000 })).toEqual([]);
  });

  it('restores live alerts and resolves those whose owner is gone', () => {
    const table = createAlertTable();
    const fired = table.observe(rule(0, 0), [series('a')], 0)[0]?.alert;
    const other = createAlertTable();
    if (!fired) throw new Error('no alert');
    other.restore(fired);
    // Still firing after the restart: nothing to send again.
    expect(other.observe(rule(0, 0), [series('a')], 60_000)).toEqual([]);
    expect(steps(other.resolveWhere((a) => a.owner === 'g/HighTraffic', 120_000))).toEqual([
      'firing→resolved',
    ]);
  });
});
