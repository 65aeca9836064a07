#!/usr/bin/env bash
# Every test of the project, from a fresh clone: formatting, lints, the accuracy check,
# unit, integration and end-to-end tests. Installs what it needs from the package registries:
# Debian's chromium (for the web app's browser test) and the pinned npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== set-up"
if ! command -v chromium > /dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium > /dev/null
fi
npm ci --prefix web --no-audit --no-fund --loglevel=error
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings

# The accuracy check on the shared development set, where it is present (it is never copied
# into the repo): a broken pipeline scores near chance, the right one about 0.75.
data="${FER_DEV_DIR:-../shared/data/fer2013-dev}"
if [ -d "$data" ]; then
  echo "== accuracy on $data"
  cargo run --quiet -p emotion-server -- eval "$data" --json > target/eval.json
  python3 - target/eval.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
accuracy = report["accuracy"]
print(f"accuracy {accuracy:.4f} on {report['images']} images, {report['images_per_second']:.0f} images/s")
if accuracy < 0.70:
    sys.exit(f"accuracy {accuracy:.4f} is under 0.70: the pipeline is broken")
PY
fi

# Every test, the ignored ones too: the browser test of the web app needs the set-up above.
echo "== tests"
cargo test --workspace -- --include-ignored
