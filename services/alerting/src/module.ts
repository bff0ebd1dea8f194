import type { DomainModule } from '@kansoku/kit';
import { alertingQueries } from './queries.ts';
import { alertingMigrations } from './tables.ts';

/** The alerting engine as a module of the platform: its tables, its gateway queries and its service. */
export const alertingModule: DomainModule = {
  name: 'alerting',
  sections: [],
  migrations: alertingMigrations,
  queries: alertingQueries,
  services: [],
};
