# syntax=docker/dockerfile:1
# One parameterised build, one image per service: `docker build --target master-data .` or
# `--target cart` (compose.yaml builds both). The services as compiled JavaScript (`pnpm build`:
# scripts/build.ts writes services/<name>/dist/main.js, importing its npm packages by path inside
# node_modules/.pnpm), beside a fresh install of that service's production dependencies only (same
# lockfile, so the same paths), run as the unprivileged `node` user, HEALTHCHECK on /readyz.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-bookworm-slim AS pnpm
RUN npm install --global pnpm@10.34.9
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY patches/ patches/
COPY gen/package.json gen/
COPY services/common/package.json services/common/
COPY services/master-data/package.json services/master-data/
COPY services/cart/package.json services/cart/
COPY bench/package.json bench/

FROM pnpm AS build
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm build

FROM pnpm AS master-data-dependencies
RUN CI=true pnpm install --frozen-lockfile --prod --filter "@pos/master-data..."

FROM pnpm AS cart-dependencies
RUN CI=true pnpm install --frozen-lockfile --prod --filter "@pos/cart..."

FROM node:${NODE_VERSION}-bookworm-slim AS master-data
ENV NODE_ENV=production HOST=0.0.0.0 MASTER_DATA_PORT=8002
WORKDIR /app
COPY --from=master-data-dependencies /src/node_modules/ node_modules/
COPY --from=build /src/services/master-data/dist/ services/master-data/dist/
COPY deploy/healthcheck.mjs ./
USER node
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:8002/readyz"]
CMD ["node", "--enable-source-maps", "services/master-data/dist/main.js"]

FROM node:${NODE_VERSION}-bookworm-slim AS cart
ENV NODE_ENV=production HOST=0.0.0.0 CART_PORT=8003
WORKDIR /app
COPY --from=cart-dependencies /src/node_modules/ node_modules/
COPY --from=build /src/services/cart/dist/ services/cart/dist/
COPY deploy/healthcheck.mjs ./
USER node
EXPOSE 8003
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/healthcheck.mjs", "http://127.0.0.1:8003/readyz"]
CMD ["node", "--enable-source-maps", "services/cart/dist/main.js"]
