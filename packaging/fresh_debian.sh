#!/usr/bin/env bash
# The .deb on a fresh, minimal Debian 12 (debootstrap --variant=minbase, no Python, no fonts,
# no X): apt-get install resolves the Depends from Debian's archive, then demo, status, a
# signed PDF with the bundled font, and the GUI on this machine's Xvfb for ten seconds
# (screenshot in build/fresh/gui.png). Needs root, debootstrap and Debian's archive; slow
# (~5 min, mostly downloads), so CI does not run it.
#   packaging/fresh_debian.sh dist/fieldcheck_<v>_amd64.deb [CHROOT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB=$(realpath "$1")
BASE=${2:-/var/tmp/fieldcheck-fresh-bookworm}   # the untouched debootstrap, reused
CH=$BASE.run                                   # a copy of it for this run only
OUT=$ROOT/build/fresh
rm -rf "$OUT"; mkdir -p "$OUT"
SECONDS=0
[ -x "$BASE/bin/bash" ] || debootstrap --variant=minbase bookworm "$BASE" http://deb.debian.org/debian
rm -rf "$CH"; cp -a "$BASE" "$CH"
mounted=()
cleanup() {
  [ -n "${XPID:-}" ] && kill "$XPID" 2>/dev/null || true
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount "${mounted[$i]}" 2>/dev/null || true; done
  [ ${#mounted[@]} -eq 0 ] || ! mount | grep -q " $CH/" && rm -rf "$CH"
}
trap cleanup EXIT
for m in proc sys dev tmp/.X11-unix; do
  mkdir -p "$CH/$m" "/$m"
  mount --bind "/$m" "$CH/$m"; mounted+=("$CH/$m")
done
cp "$DEB" "$CH/tmp/"
cat > "$CH/tmp/fresh-check.sh" <<'INNER'
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive HOME=/root
apt-get update -qq
apt-get install -y -qq "/tmp/$1" >/dev/null
echo "    python3 $(command -v python3 || echo 无)，pip $(command -v pip3 || echo 无)，中文字体 $(fc-list :lang=zh 2>/dev/null | wc -l) 个"
fieldcheck-cli demo
fieldcheck-cli status --json > /tmp/status.json
ID=$(fieldcheck-cli inspections --json | grep -B3 '"status": "finalized"' | sed -n 's/.*"id": "\(.*\)".*/\1/p' | head -1)
fieldcheck-cli pdf "$ID" --out /tmp/pdf
fieldcheck-cli verify /tmp/pdf/*记录*.pdf
(DISPLAY=$2 fieldcheck > /tmp/gui.log 2>&1 & echo $! > /tmp/gui.pid)
sleep 10
kill -0 "$(cat /tmp/gui.pid)" || { echo "界面已退出：$(cat /tmp/gui.log)"; exit 1; }
INNER
Xvfb :97 -screen 0 1280x800x24 -nolisten tcp & XPID=$!
sleep 2
chroot "$CH" bash /tmp/fresh-check.sh "$(basename "$DEB")" :97
import -display :97 -window root "$OUT/gui.png" 2>/dev/null || true
cp "$CH/tmp/status.json" "$CH/tmp/gui.log" "$OUT/"; cp "$CH"/tmp/pdf/*.pdf "$OUT/" 2>/dev/null || true
kill "$(cat "$CH/tmp/gui.pid")" 2>/dev/null || true
chroot "$CH" apt-get remove -y -qq --purge fieldcheck >/dev/null
echo "==> 全新 Debian 12 上安装、演示数据、签章 PDF、界面 10 秒：通过（${SECONDS}s），截图 $OUT/gui.png"
