# Multi-stage build: npm installs the page's face detector, a Rust toolchain builds the release
# binary; the runtime image holds only the binary (the model, the web page and the detector are
# embedded in it) and runs as a non-root user.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=web /src/web/node_modules web/node_modules
RUN cargo build --release --locked -p emotion-server \
 && strip target/release/emotion-server

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home emotion
COPY --from=build /src/target/release/emotion-server /usr/local/bin/emotion-server
USER emotion
ENV HOST=0.0.0.0 PORT=8000 LOG_FORMAT=json
EXPOSE 8000
# The server honours $PORT (Render and other platforms set it).
CMD ["emotion-server"]
