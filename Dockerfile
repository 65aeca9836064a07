# Multi-stage build: a Rust toolchain builds the release binary; the runtime image holds only
# the binary (the model and web page are embedded in it) and runs as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
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
