/**
 * The alert state machine shared by scheduled rules and streaming detections.
 *
 *   inactive ──condition──► pending ──held for `for`──► firing ──condition gone for `keep_firing_for`──► resolved
 *       ▲                      │                                                                        │
 *       └──condition gone──────┘                          (a new occurrence starts over from inactive) ◄┘
 *
 * With `for: 0` an alert goes straight to firing. Every change is a `Transition`: the engine writes
 * it to the history table and hands firing/resolved ones to the notifiers. Alerts are grouped by
 * "owner" (a rule: `<group>/<alert>`, or a detector: `detections/<domain>/<name>`): an evaluation
 * reports every active series of its owner, so an owner's alert missing from a report has cleared.
 */
import { fingerprint } from './fingerprint.ts';

export type AlertStateName = 'inactive' | 'pending' | 'firing' | 'resolved';

export interface Alert {
  fingerprint: string;
  alertname: string;
  /** rule (scheduled) or detection (streaming detector). */
  source: 'rule' | 'detection';
  /** Owner key, see above. */
  owner: string;
  /** Rule group, or detections/<domain>. */
  group: string;
  severity: string;
  /** Every label, alertname and severity included. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  state: AlertStateName;
  /** When the condition started holding (pending since). */
  activeAt: number;
  /** When it started firing; 0 before. */
  firedAt: number;
  /** When it resolved; 0 before. */
  resolvedAt: number;
  /** First evaluation the condition no longer held while firing (keep_firing_for runs from here). */
  keepFiringSince?: number;
}

export interface Transition {
  time: number;
  from: AlertStateName;
  to: AlertStateName;
  /** A copy of the alert after the transition. */
  alert: Alert;
}

export interface Observation {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
}

export interface OwnerOptions {
  owner: string;
  alertname: string;
  group: string;
  source: Alert['source'];
  forMs: number;
  keepFiringForMs: number;
}

/** How long a resolved alert stays known (so a flap within it is one history, and for queries). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface AlertTable {
  /** One evaluation of an owner: every series whose condition holds now. */
  observe(options: OwnerOptions, active: readonly Observation[], now: number): Transition[];
  /** A streaming detection: fires at once; resolves when told. */
  detection(
    options: Omit<OwnerOptions, 'forMs' | 'keepFiringForMs'>,
    observation: Observation,
    status: 'firing' | 'resolved',
    at: { startsAt: number; endsAt?: number },
  ): Transition[];
  /** Resolves every firing alert of an owner (its rule is gone, or its detector went stale). */
  resolveWhere(predicate: (alert: Alert) => boolean, now: number): Transition[];
  /** Puts back an alert read from the state table after a restart. */
  restore(alert: Alert): void;
  /** Pending and firing alerts (copies). */
  live(): Alert[];
  get(fingerprint: string): Alert | undefined;
  /** Forgets resolved alerts older than the retention. */
  prune(now: number): void;
}

function copy(alert: Alert): Alert {
  return { ...alert, labels: { ...alert.labels }, annotations: { ...alert.annotations } };
}

export function createAlertTable(): AlertTable {
  const owners = new Map<string, Map<string, Alert>>();

  const ownerMap = (owner: string): Map<string, Alert> => {
    let map = owners.get(owner);
    if (!map) {
      map = new Map();
      owners.set(owner, map);
    }
    return map;
  };

  const move = (alert: Alert, to: AlertStateName, time: number, out: Transition[]) => {
    const from = alert.state;
    alert.state = to;
    out.push({ time, from, to, alert: copy(alert) });
  };

  function fresh(
    options: Omit<OwnerOptions, 'forMs' | 'keepFiringForMs'>,
    o: Observation,
    now: number,
  ): Alert {
    const labels: Record<string, string> = { ...o.labels, alertname: options.alertname };
    return {
      fingerprint: fingerprint(options.alertname, labels),
      alertname: options.alertname,
      source: options.source,
      owner: options.owner,
      group: options.group,
      severity: labels.severity ?? 'warning',
      labels,
      annotations: { ...o.annotations },
      value: o.value,
      state: 'inactive',
      activeAt: now,
      firedAt: 0,
      resolvedAt: 0,
    };
  }

  return {
    observe(options, active, now) {
      const out: Transition[] = [];
      const alerts = ownerMap(options.owner);
      const seen = new Set<string>();
      for (const o of active) {
        const candidate = fresh(options, o, now);
        seen.add(candidate.fingerprint);
        let alert = alerts.get(candidate.fingerprint);
        if (!alert || alert.state === 'resolved' || alert.state === 'inactive') {
          alert = candidate;
          alerts.set(alert.fingerprint, alert);
          if (options.forMs === 0) {
            alert.firedAt = now;
            move(alert, 'firing', now, out);
          } else {
            move(alert, 'pending', now, out);
          }
          continue;
        }
        alert.value = o.value;
        alert.annotations = candidate.annotations;
        delete alert.keepFiringSince;
        if (alert.state === 'pending' && now - alert.activeAt >= options.forMs) {
          alert.firedAt = now;
          move(alert, 'firing', now, out);
        }
      }
      for (const alert of alerts.values()) {
        if (seen.has(alert.fingerprint)) continue;
        if (alert.state === 'pending') {
          alerts.delete(alert.fingerprint);
          move(alert, 'inactive', now, out);
        } else if (alert.state === 'firing') {
          alert.keepFiringSince ??= now;
          if (now - alert.keepFiringSince >= options.keepFiringForMs) {
            alert.resolvedAt = now;
            delete alert.keepFiringSince;
            move(alert, 'resolved', now, out);
          }
        }
      }
      return out;
    },
    detection(options, o, status, at) {
      const out: Transition[] = [];
      const alerts = ownerMap(options.owner);
      const candidate = fresh(options, o, at.startsAt);
      const alert = alerts.get(candidate.fingerprint);
      if (status === 'firing') {
        if (!alert || alert.state === 'resolved' || alert.state === 'inactive') {
          candidate.firedAt = at.startsAt;
          alerts.set(candidate.fingerprint, candidate);
          move(candidate, 'firing', at.startsAt, out);
        } else {
          alert.value = o.value;
          alert.annotations = candidate.annotations;
        }
        return out;
      }
      if (alert && (alert.state === 'firing' || alert.state === 'pending')) {
        const time = Math.max(at.endsAt ?? at.startsAt, alert.firedAt);
        alert.value = o.value;
        alert.annotations = candidate.annotations;
        alert.resolvedAt = time;
        move(alert, 'resolved', time, out);
      }
      return out;
    },
    resolveWhere(predicate, now) {
      const out: Transition[] = [];
      for (const alerts of owners.values()) {
        for (const alert of alerts.values()) {
          if (!predicate(alert)) continue;
          if (alert.state === 'firing') {
            alert.resolvedAt = now;
            move(alert, 'resolved', now, out);
          } else if (alert.state === 'pending') {
            alerts.delete(alert.fingerprint);
            move(alert, 'inactive', now, out);
          }
        }
      }
      return out;
    },
    restore(alert) {
      ownerMap(alert.owner).set(alert.fingerprint, copy(alert));
    },
    live() {
      const out: Alert[] = [];
      for (const alerts of owners.values()) {
        for (const alert of alerts.values()) {
          if (alert.state === 'pending' || alert.state === 'firing') out.push(copy(alert));
        }
      }
      return out;
    },
    get(fp) {
      for (const alerts of owners.values()) {
        const alert = alerts.get(fp);
        if (alert) return copy(alert);
      }
      return undefined;
    },
    prune(now) {
      for (const [owner, alerts] of owners) {
        for (const [fp, alert] of alerts) {
          if (alert.state === 'resolved' && now - alert.resolvedAt > RESOLVED_RETENTION_MS) alerts.delete(fp);
        }
        if (alerts.size === 0) owners.delete(owner);
      }
    },
  };
}
