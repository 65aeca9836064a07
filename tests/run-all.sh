#!/usr/bin/env bash
# Every test of the project, from a fresh clone: formatting, lints, the accuracy check,
# unit, integration and end-to-end tests. Installs what it needs from the package registries:
# from Debian, chromium (the web app's browser test), valgrind (the C ABI's memory check) and
# Mono (the Unity wrapper's test); the pinned npm packages; and (in a fresh virtualenv) maturin
# and the Python test tools from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== set-up"
missing=()
for tool in chromium:chromium valgrind:valgrind mcs:mono-mcs mono:mono-runtime; do
  command -v "${tool%%:*}" > /dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
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

# The Python package: a wheel built afresh, installed into a fresh virtualenv, tested there
# against the embedded model and the server binary the tests above built. (The dev profile keeps
# the build close to the one above; `pip install ./bindings/python` builds a release wheel.)
echo "== python package"
venv=target/py-venv
rm -rf "$venv" target/wheels
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.7,<2" numpy pillow pytest mypy
"$venv/bin/maturin" build --quiet --profile dev -m bindings/python/Cargo.toml -o target/wheels -i "$venv/bin/python"
"$venv/bin/pip" install --quiet --disable-pip-version-check target/wheels/emotion_client-*.whl
(
  cd bindings/python/tests
  EMOTION_SERVER_BIN="$PWD/../../../target/debug/emotion-server" \
    "../../../$venv/bin/python" -m pytest -q -p no:cacheprovider
  "../../../$venv/bin/python" -m mypy --strict --cache-dir ../../../target/mypy-cache typed_usage.py
)
