# Headless reader: the sim profile on the virtual BLE controller, JSON logs, data on a volume.
#   podman build -t reader-sim .    (or docker build; see README "Docker")
#   podman run --rm -p 8080:8080 -v reader-data:/data reader-sim

# --- build: native modules (HCI socket, serialport, cbor-extract) and tsc ---------------
FROM node:20-bookworm-slim AS build
# Unset in a normal build. A machine without internet access passes a local CA bundle and
# mounts Node's headers for node-gyp (see scripts/docker-build.sh).
ARG npm_config_cafile
ARG npm_config_nodedir
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY firmware firmware
COPY led led
COPY ble ble
COPY storage storage
COPY osdp osdp
COPY scripts scripts
COPY types types
# scripts/dev is compiled too: --help lists the dev tools from its table, and the bench, whose
# devDependency the prune removes, then says it is a development tool.
RUN npm run build && npm prune --omit=dev --no-fund --no-audit

# --- runtime -----------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY bin bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Host API, and the virtual BLE air that phones in other containers (or on the host) join.
ENV READER_SIM_AIR=tcp:0.0.0.0:8090
EXPOSE 8080 8090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "bin/healthcheck.js"]
CMD ["node", "bin/reader-sim.js", "start", "--data", "/data", "--api-host", "0.0.0.0"]
