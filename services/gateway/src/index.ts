export { createAuthenticator, roleAtLeast } from './auth.ts';
export { gatewayApp, type GatewayAppOptions } from './app.ts';
export { gatewaySection, type GatewayConfig, ROLES, type Role } from './config.ts';
export { HttpError } from './errors.ts';
export { createGateway, type Gateway, type GatewayDeps } from './server.ts';
export { gatewayModule } from './module.ts';
