import { defineSection, type SectionValue } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const gatewaySection = defineSection(
  'gateway',
  Type.Object({
    host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server binds' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
    tokens: Type.Array(Type.String({ pattern: '^(viewer|operator|admin):\\S{8,}$' }), {
      default: [],
      description: 'Bearer tokens as <role>:<token> (token of 8+ characters); env: comma-separated',
    }),
    anonymousRole: Type.Union([Type.Literal('none'), ...ROLES.map((r) => Type.Literal(r))], {
      default: 'none',
      description: 'Role granted to requests without a token; none requires a token on every data route',
    }),
  }),
  ['tokens'],
);

export type GatewayConfig = SectionValue<typeof gatewaySection>;
