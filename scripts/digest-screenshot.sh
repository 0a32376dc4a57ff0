#!/bin/sh
# Renders a digest made from invented tenders (examples/digest_preview.rs: stored, read by the
# built-in rules and composed as `tenderscan run` would mail it) in headless Chromium and
# writes a PNG of its HTML part, as a mail client shows it.
#
# Usage: scripts/digest-screenshot.sh [LANG] [OUT.png]
#   LANG  ru (default), kk or en
#   OUT   docs/digest-LANG.png by default
# Needs cargo, python3 and chromium (/usr/bin/chromium, or $CHROMIUM). Nothing leaves the
# machine: Chromium opens a local file with networking off.
set -eu
lang="${1:-ru}"
out="${2:-docs/digest-$lang.png}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
cd "$(dirname "$0")/.."
if ! command -v "$chromium" >/dev/null 2>&1; then
  echo "digest-screenshot: no Chromium at $chromium (set CHROMIUM)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo run --quiet --example digest_preview -- "$work/preview" "$lang" >/dev/null
eml="$(ls "$work"/preview/outbox/*.eml | head -n 1)"
python3 - "$eml" "$work/digest.html" <<'PY'
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], "rb") as f:
    msg = BytesParser(policy=policy.default).parse(f)
html = msg.get_body(preferencelist=("html",)).get_content()
subject = msg["Subject"]
# A mail client's header above the body, the subject escaped.
esc = subject.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
head = (
    '<div style="font-family:Arial,sans-serif;border-bottom:1px solid #ccc;padding:8px 0 10px;'
    'margin-bottom:10px;max-width:760px"><div style="font-size:19px;font-weight:bold">'
    + esc
    + '</div><div style="color:#666;font-size:13px">tenderscan &lt;alerts@newsroom.example&gt;'
    " → desk@newsroom.example</div></div>"
)
i = html.index(">", html.index("<body")) + 1
html = html[:i] + head + html[i:]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(html)
PY
mkdir -p "$(dirname "$out")"
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --proxy-server="127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
  --window-size=820,2600 --screenshot="$work/shot.png" "file://$work/digest.html" >/dev/null 2>&1
cp "$work/shot.png" "$out"
echo "$out"
