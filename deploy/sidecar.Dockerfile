# syntax=docker/dockerfile:1
# The sidecar image. Build from the repository root:
#   docker build -f deploy/sidecar.Dockerfile -t pipeline-sidecar .
# Stage 1 installs the workspace with pnpm and builds the sidecar and the packages it uses; stage 2
# holds only `pnpm deploy --prod` output (the sidecar, its built workspace packages and production
# dependencies) on a slim image, run as the unprivileged `node` user.

ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-bookworm AS build
ARG PNPM_VERSION=12.21.0
ENV CI=true TURBO_TELEMETRY_DISABLED=1
RUN npm install -g "pnpm@${PNPM_VERSION}"
WORKDIR /src
# Dependencies first (this layer is reused until the lockfile changes).
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
# better-sqlite3 is compiled here if no prebuilt binary matches (the full node image has python3, make, g++).
RUN pnpm install --offline --frozen-lockfile \
 && pnpm exec turbo run build --filter=@pipeline/sidecar... \
 && pnpm --filter @pipeline/sidecar deploy --prod /prod/sidecar \
 && rm -rf /prod/sidecar/src /prod/sidecar/test /prod/sidecar/bench /prod/sidecar/reliability

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    SQLITE_PATH=/data/pipeline.db
WORKDIR /app
COPY --from=build --chown=node:node /prod/sidecar /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
# Liveness only: readiness (/health/ready) is for orchestrators that route traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=128", "--min-semi-space-size=16", "--no-allocation-site-pretenuring", "--enable-source-maps", "dist/main.js"]
