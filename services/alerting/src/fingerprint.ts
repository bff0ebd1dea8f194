import { createHash } from 'node:crypto';

/**
 * An alert's identity: a stable hash of its name and its sorted labels (16 hex digits). The same
 * alert gets the same fingerprint in every process and after every restart, whatever the order of
 * its labels; it is the PagerDuty dedup_key and the key of the state table.
 */
export function fingerprint(alertname: string, labels: Record<string, string>): string {
  const hash = createHash('sha256');
  hash.update('alertname\u0000');
  hash.update(alertname);
  hash.update('\u0000');
  for (const name of Object.keys(labels).sort()) {
    if (name === 'alertname') continue;
    // NUL separates names and values: no label text can forge a boundary.
    hash.update(name);
    hash.update('\u0000');
    hash.update(labels[name] ?? '');
    hash.update('\u0000');
  }
  return hash.digest('hex').slice(0, 16);
}
