# syntax=docker/dockerfile:1
# One parameterised build, one image per service: `docker build --target master-data .` or
# `--target cart` (compose.yaml builds both). Compiled, bundled JavaScript (scripts/build.ts), production
# dependencies only (pnpm deploy --prod), run as the unprivileged `node` user, with a HEALTHCHECK on
# the service's /readyz.
ARG NODE_VERSION=20.19

FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN npm install --global pnpm@10.34.9
WORKDIR /src
# Dependencies first, so that a source change does not reinstall them.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY gen/package.json gen/
COPY services/common/package.json services/common/
COPY services/master-data/package.json services/master-data/
COPY services/cart/package.json services/cart/
COPY bench/package.json bench/
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm build \
 && pnpm --filter @pos/master-data deploy --prod --legacy --config.node-linker=hoisted /out/master-data \
 && pnpm --filter @pos/cart deploy --prod --legacy --config.node-linker=hoisted /out/cart \
 && cp dist/master-data/main.js dist/master-data/main.js.map /out/master-data/ \
 && cp dist/cart/main.js dist/cart/main.js.map /out/cart/ \
 && cp deploy/healthcheck.mjs /out/master-data/ && cp deploy/healthcheck.mjs /out/cart/

FROM node:${NODE_VERSION}-bookworm-slim AS master-data
ENV NODE_ENV=production HOST=0.0.0.0 MASTER_DATA_PORT=8002
WORKDIR /app
COPY --from=build --chown=root:root /out/master-data/ ./
USER node
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:8002/readyz"]
CMD ["node", "--enable-source-maps", "main.js"]

FROM node:${NODE_VERSION}-bookworm-slim AS cart
ENV NODE_ENV=production HOST=0.0.0.0 CART_PORT=8003
WORKDIR /app
COPY --from=build --chown=root:root /out/cart/ ./
USER node
EXPOSE 8003
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:8003/readyz"]
CMD ["node", "--enable-source-maps", "main.js"]
