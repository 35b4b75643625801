# syntax=docker/dockerfile:1
# Opsflow's image: TypeScript compiled to JavaScript at build time, production dependencies only, a non-root user.
#   docker build -t opsflow .                      the runtime (the last stage): API by default, worker with
#                                                  `node dist/worker/main.js`, migrations with the migrate job's command
#   docker build --target simulators -t opsflow-simulators .   the simulated ERP, HRIS, ATS... (dev only)
# Node 24 is the active LTS; the tag is pinned so a rebuild gets the same runtime (bump it deliberately).
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# --- build: every dependency, the Prisma client, tsc to dist/, the prebuilt workflow bundle ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run prisma:generate && npm run build

# --- simulators: the dev stack's simulated systems, for docker-compose.yml only; never deployed ------------------
FROM build AS simulators
ENV NODE_ENV=development
USER node
EXPOSE 4100
CMD ["node", "--import", "tsx", "dev/simulators/main.ts"]

# --- runtime: what runs in production --------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    API_HOST=0.0.0.0 \
    API_PORT=4000 \
    WORKER_METRICS_HOST=0.0.0.0 \
    WORKER_METRICS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; install scripts off (the Prisma client is already compiled into dist/).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The migrate job: `prisma migrate deploy` reads prisma.config.ts and prisma/migrations, then dist/dev/db-roles.js.
COPY prisma ./prisma
COPY prisma.config.ts ./
USER node
EXPOSE 4000 9464
# The API's /healthz; the worker's service passes its own URL (http://127.0.0.1:9464/healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 CMD ["node", "dist/lib/healthcheck.js"]
CMD ["node", "--enable-source-maps", "dist/api/server.js"]
