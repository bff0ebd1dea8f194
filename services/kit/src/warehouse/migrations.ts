/**
 * Versioned, idempotent schema migrations. Each domain owns its migrations; ids are
 * `<domain>/<NNNN>_<what>` and apply in id order. An applied migration is recorded with a checksum
 * of its statements: editing an applied migration is refused (write a new one instead).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { type Warehouse, WarehouseError } from './warehouse.ts';

export interface Migration {
  id: string;
  description: string;
  /** Statements must be idempotent (IF NOT EXISTS), since a crash may interrupt a migration. */
  statements: string[];
}

const LEDGER = '{{db}}.kansoku_migrations';

function checksum(migration: Migration): string {
  return createHash('sha256').update(migration.statements.join('\n;\n')).digest('hex').slice(0, 16);
}

export async function migrate(
  warehouse: Warehouse,
  migrations: readonly Migration[],
  deps: { log: Logger },
): Promise<{ applied: string[]; alreadyApplied: string[] }> {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id))
      throw new WarehouseError('KANSOKU_MIGRATION_DUPLICATE', `migration ${m.id} is defined twice`);
    ids.add(m.id);
  }
  await warehouse.command(
    `CREATE TABLE IF NOT EXISTS ${LEDGER} (id String, checksum String, description String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY id`,
  );
  const rows = await warehouse.query<{ id: string; checksum: string }>(
    `SELECT id, checksum FROM ${LEDGER} FINAL`,
  );
  const done = new Map(rows.map((r) => [r.id, r.checksum]));
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  for (const migration of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    const sum = checksum(migration);
    const previous = done.get(migration.id);
    if (previous !== undefined) {
      if (previous !== sum) {
        throw new WarehouseError(
          'KANSOKU_MIGRATION_CHANGED',
          `migration ${migration.id} was applied with checksum ${previous} but is now ${sum}: add a new migration instead of editing it`,
        );
      }
      alreadyApplied.push(migration.id);
      continue;
    }
    for (const statement of migration.statements) await warehouse.command(statement);
    await warehouse.insert(LEDGER, [{ id: migration.id, checksum: sum, description: migration.description }]);
    deps.log.info({ migration: migration.id }, 'migration applied');
    applied.push(migration.id);
  }
  return { applied, alreadyApplied };
}
