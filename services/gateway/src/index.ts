export { type GatewayAppOptions, gatewayApp } from './app.ts';
export { createAuthenticator, roleAtLeast } from './auth.ts';
export { type GatewayConfig, gatewaySection, ROLES, type Role } from './config.ts';
export { HttpError } from './errors.ts';
export { gatewayModule } from './module.ts';
export { createGateway, type Gateway, type GatewayDeps } from './server.ts';
