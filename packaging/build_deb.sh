#!/usr/bin/env bash
# Builds dist/fieldcheck_<version>_amd64.deb: the PyInstaller onedir build under
# /opt/fieldcheck, /usr/bin/fieldcheck and fieldcheck-cli, a desktop entry and an icon.
#   packaging/build_deb.sh [--src DIR] [--version V] [--reuse] [--out DIR]
# --src     the source tree to freeze (default: this checkout; an older tree works too)
# --version the package version (default: setup.cfg of the source tree)
# --work    the build folder (default build/deb), so an older tree's build keeps apart
# --reuse   skip PyInstaller and repackage the last frozen folder (e.g. stamped lower)
# --compress "xz -z3" (default) | "gzip -z9" | "none": measured on this 2-core machine
#           under load, 276 MB installed: xz -z6 89 MB in 323 s, xz -z3 97 MB in 193 s,
#           gzip -z9 118 MB in 61 s. xz, not zstd: older dpkg (UOS, Kylin) cannot read zstd.
# PYTHON is the interpreter with PyInstaller and FieldCheck's dependencies (default .venv).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT VERSION= REUSE= OUT=$ROOT/dist COMPRESS="xz -z3" WORK=$ROOT/build/deb
while [ $# -gt 0 ]; do
  case "$1" in
    --src) SRC=$(cd "$2" && pwd); shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --reuse) REUSE=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --compress) COMPRESS=$2; shift 2 ;;
    --work) WORK=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    *) echo "未知参数：$1" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -n "$VERSION" ] || VERSION=$(sed -n 's/^version *= *//p' "$SRC/setup.cfg")
FROZEN=$WORK/freeze/dist/fieldcheck
# The documents' and the screen's Chinese font, copied from the build machine's Debian
# package: WenQuanYi Micro Hei is Apache-2.0 or GPL-3+ with the font exception, both allow
# redistribution; its copyright file goes beside it and into /usr/share/doc/fieldcheck.
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
FONT_COPYRIGHT=/usr/share/doc/fonts-wqy-microhei/copyright
SECONDS=0

freeze() {
  [ -f "$FONT" ] || { echo "缺少字体 $FONT：请安装 fonts-wqy-microhei" >&2; exit 1; }
  rm -rf "$WORK/freeze" "$WORK/fonts"
  mkdir -p "$WORK/fonts"
  cp "$FONT" "$WORK/fonts/"
  cp "$FONT_COPYRIGHT" "$WORK/fonts/wqy-microhei.copyright.txt"
  echo "==> PyInstaller：冻结 $SRC"
  FIELDCHECK_SRC=$SRC FIELDCHECK_FONT_DIR=$WORK/fonts nice "$PYTHON" -m PyInstaller \
    --noconfirm --clean --log-level WARN --distpath "$WORK/freeze/dist" \
    --workpath "$WORK/freeze/work" "$ROOT/packaging/fieldcheck.spec"
}

stage_root() {
  local root=$WORK/pkg/debian/fieldcheck
  rm -rf "$WORK/pkg"
  mkdir -p "$root/opt" "$root/usr/bin" "$root/usr/share/applications" "$root/DEBIAN" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/icons/hicolor/256x256/apps" \
    "$root/usr/share/doc/fieldcheck"
  cp -a "$FROZEN" "$root/opt/fieldcheck"
  # The version the running program reports (release.version) — the package's, stamped here.
  printf '%s\n' "$VERSION" > "$root/opt/fieldcheck/_internal/resources/version.txt"
  ln -s /opt/fieldcheck/fieldcheck "$root/usr/bin/fieldcheck"
  ln -s /opt/fieldcheck/fieldcheck "$root/usr/bin/fieldcheck-cli"
  cp "$ROOT/packaging/fieldcheck.desktop" "$root/usr/share/applications/"
  cp "$SRC/resources/icons/fieldcheck.svg" "$root/usr/share/icons/hicolor/scalable/apps/" 2>/dev/null ||
    cp "$ROOT/resources/icons/fieldcheck.svg" "$root/usr/share/icons/hicolor/scalable/apps/"
  cp "$ROOT/resources/icons/fieldcheck.png" "$root/usr/share/icons/hicolor/256x256/apps/"
  { echo "FieldCheck — proprietary. Bundled third-party components keep their licences:"
    echo "Qt/PySide6 (LGPL-3), Python (PSF), and the font below."
    echo; echo "=== WenQuanYi Micro Hei (resources/fonts/wqy-microhei.ttc) ==="
    cat "$FONT_COPYRIGHT"; } > "$root/usr/share/doc/fieldcheck/copyright"
  echo "$root"
}

# Depends: what the frozen program's ELF files link against outside the bundle, as
# dpkg-shlibdeps maps it to Debian packages; plus libdbus-1-3, which Qt loads with dlopen
# (input methods, the desktop portal) and so no ELF header names.
depends() {
  local root=$1 dirs=()
  mkdir -p "$WORK/pkg/debian"
  printf 'Source: fieldcheck\n\nPackage: fieldcheck\nArchitecture: amd64\n' > "$WORK/pkg/debian/control"
  while IFS= read -r d; do dirs+=("-l$d"); done < <(find "$root/opt/fieldcheck" -name '*.so*' -printf '%h\n' | sort -u)
  local elfs=()
  while IFS= read -r f; do
    file -b "$f" | grep -q '^ELF' && elfs+=("$f")
  done < <(find "$root/opt/fieldcheck" -type f \( -name '*.so*' -o -name fieldcheck \))
  (cd "$WORK/pkg" && dpkg-shlibdeps -O --ignore-missing-info "${dirs[@]}" -e"${elfs[@]}" 2>"$WORK/shlibdeps.log") |
    sed -n 's/^shlibs:Depends=//p' | sed '/libdbus-1-3/!s/$/, libdbus-1-3/'
}

control() {
  local root=$1 deps=$2
  cat > "$root/DEBIAN/control" <<CONTROL
Package: fieldcheck
Version: $VERSION
Architecture: amd64
Maintainer: FieldCheck <fieldcheck@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $deps
Section: misc
Priority: optional
Description: 工贸安全现场检查 — offline on-site work-safety inspection
 FieldCheck guides work-safety inspectors through the checklists on site, records
 hazards and follows them to closure, and issues signed enforcement documents.
 Self-contained: Python, Qt and the Chinese font are inside /opt/fieldcheck.
CONTROL
}

[ -n "$REUSE" ] && [ -x "$FROZEN/fieldcheck" ] || { [ -n "$REUSE" ] && echo "没有可复用的冻结结果，重新构建"; freeze; }
ROOT_DIR=$(stage_root)
DEPS=$(depends "$ROOT_DIR")
[ -n "$DEPS" ] || { echo "dpkg-shlibdeps 失败：见 $WORK/shlibdeps.log" >&2; cat "$WORK/shlibdeps.log" >&2; exit 1; }
control "$ROOT_DIR" "$DEPS"
# Same sources, same timestamps in the archive.
EPOCH=$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)
find "$ROOT_DIR" -exec touch -h -d "@$EPOCH" {} +
mkdir -p "$OUT"
DEB=$OUT/fieldcheck_${VERSION}_amd64.deb
read -r ZTYPE ZLEVEL <<<"$COMPRESS"
SOURCE_DATE_EPOCH=$EPOCH dpkg-deb --root-owner-group -Z"$ZTYPE" ${ZLEVEL:+"$ZLEVEL"} \
  --build "$ROOT_DIR" "$DEB" >/dev/null
echo "==> $DEB"
echo "    大小 $(du -h "$DEB" | cut -f1)（安装后 $(du -sh --exclude=DEBIAN "$ROOT_DIR" | cut -f1)），用时 ${SECONDS}s"
echo "    Depends: $DEPS"
