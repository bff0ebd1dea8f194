export { alertingModule } from './module.ts';
export { alertHistory, alertingQueries, firingAlerts } from './queries.ts';
export { ALERTING_HISTORY_TABLE, ALERTING_STATE_TABLE, alertingMigrations } from './tables.ts';
