# The image the Helm chart runs: `kansoku <command>` (e.g. `run flows-collector`, `migrate`).
# Build: docker build -t ghcr.io/kansoku/kansoku:0.1.0 .
# Nothing here depends on Docker: the platform runs on a plain machine with `pnpm kansoku up`.
FROM node:20-bookworm-slim
ENV CI=true NODE_ENV=production
RUN npm install -g pnpm@9.15.9
WORKDIR /app
COPY . .
# TypeScript runs through tsx (a dev dependency of the workspace root), so the whole lockfile is installed.
RUN pnpm install --frozen-lockfile && chown -R 1000:1000 /app
USER 1000
# node directly, not pnpm: SIGTERM must reach the process so it drains (pnpm does not forward it).
ENTRYPOINT ["node", "--import", "tsx", "services/platform/src/cli.ts"]
CMD ["--help"]
