# syntax=docker/dockerfile:1
# One image, two programs:
#   controller: docker run IMAGE                      (CMD src/cmd/controller.ts)
#   edge:       docker run IMAGE src/cmd/edge.ts
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile step.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The IVR's voice prompts, synthesised once at build time; espeak-ng and sox stay in this stage.
FROM ${NODE_IMAGE} AS prompts
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Only the prompt texts: editing other sources does not re-synthesise the audio.
COPY package.json ./
COPY scripts/gen-prompts.sh scripts/gen-prompts.sh
COPY src/media/prompt-texts.ts src/media/prompt-texts.ts
RUN bash scripts/gen-prompts.sh /build/prompts

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOTDESK_PROMPTS_DIR=/app/prompts
WORKDIR /app
# Files stay owned by root: the process only reads them (the root filesystem is read-only in the
# chart), and it runs as an unprivileged numeric uid so runAsNonRoot can verify it.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=prompts /build/prompts ./prompts
COPY src ./src
USER 10001:10001
# 8080 controller metrics and probes; edge: 5060 SIP, 9090 metrics (other edge ports are set per pool).
EXPOSE 8080 5060/udp 5060/tcp 9090
ENTRYPOINT ["node"]
CMD ["src/cmd/controller.ts"]
