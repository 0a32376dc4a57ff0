#!/bin/sh
# Serves a database of invented tenders (examples/serve_demo.rs) with `tenderscan serve` on a
# loopback port and photographs its pages in headless Chromium: the flag list, a notice with
# its evidence, and the charts. The README shows them.
#
# Usage: scripts/serve-screenshots.sh [LANG] [OUTDIR]
#   LANG    ru (default), kk or en
#   OUTDIR  docs by default: writes serve-flags-LANG.png, serve-notice-LANG.png,
#           serve-charts-LANG.png
# Needs cargo, python3 and chromium (/usr/bin/chromium, or $CHROMIUM). Nothing leaves the
# machine: the server listens on 127.0.0.1, and Chromium reaches it directly and everything
# else only through a closed local port.
set -eu
lang="${1:-ru}"
out="${2:-docs}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
cd "$(dirname "$0")/.."
if ! command -v "$chromium" >/dev/null 2>&1; then
  echo "serve-screenshots: no Chromium at $chromium (set CHROMIUM)" >&2
  exit 2
fi
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cargo build --quiet --bin tenderscan --example serve_demo
config="$(target/debug/examples/serve_demo "$work/demo")"
target/debug/tenderscan serve --config "$config" --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)"
  [ -n "$addr" ] && break
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "serve-screenshots: the server did not start:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
notice="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM notices WHERE external_id = ?", ("910001",)).fetchone()[0])' "$work/demo/demo.db")"
mkdir -p "$out"
shoot() { # NAME PATH HEIGHT
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --proxy-server="127.0.0.1:9" --proxy-bypass-list="${addr#http://}" \
    --window-size=1200,"$3" --screenshot="$work/$1.png" "$addr$2" >/dev/null 2>&1
  cp "$work/$1.png" "$out/serve-$1-$lang.png"
  echo "$out/serve-$1-$lang.png"
}
shoot flags "/?lang=$lang" 1100
shoot notice "/notice/$notice?lang=$lang" 1500
shoot charts "/charts?lang=$lang" 1700
