#!/usr/bin/env bash
# FieldCheck set-up: `bash dev.sh start` runs the application, `bash dev.sh test` the tests.
# Idempotent: installs only what is missing (system packages, the virtualenv, Python packages).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
# Qt's xcb window needs these (its error message wrongly blames xcb-cursor); the font makes
# Chinese readable on screen and embeddable in PDFs (TrueType outlines, unlike Noto CJK);
# QtMultimedia (the laptop camera) will not load without libpulse0. Documents print their body
# in AR PL SungtiL GB (fonts-arphic-gbsn00lp, a 宋体 face), titles and rare characters in WenQuanYi.
APT_START=(python3 python3-venv python3-pip libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libpulse0 fonts-wqy-microhei
  fonts-arphic-gbsn00lp)
# pdffonts/pdftotext/pdfsig check the generated documents (libnss3-tools: certutil, for pdfsig
# with the agency CA); postgresql-15 gives pg_ctl for the throwaway server of the office tests
# (started by the tests themselves, no systemd needed).
APT_TEST=(poppler-utils libnss3-tools postgresql-15)

need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v dpkg-query >/dev/null; then
    echo "此系统没有 apt：请按 README 手动安装依赖。" >&2; return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> 安装系统软件包：${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "缺少系统软件包。请先运行：" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
}

ensure_venv() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local stamp="$VENV/.fieldcheck-installed"
  local want
  want=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> 安装 Python 依赖"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
  fi
}

# ---- packaging (issue #16): `bash dev.sh package`, `bash dev.sh package-windows` ----------
# dpkg-shlibdeps (dpkg-dev) and file derive the .deb's Depends; PyInstaller needs the
# interpreter's shared library; xvfb runs the smoke test's GUI (packaging/smoke_deb.sh).
apt_package() {
  local pyver
  pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo dpkg-dev file xvfb "libpython$pyver"
}

ensure_package_tools() {
  ensure_venv
  local stamp="$VENV/.fieldcheck-package-installed" want
  want=$(sha256sum setup.cfg | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> 安装打包工具（PyInstaller）"
    "$VENV/bin/python" -m pip install -q -e ".[test,package]"
    echo "$want" > "$stamp"
  fi
}
# ---- end packaging -------------------------------------------------------------------------

case "${1:-start}" in
  start)
    shift || true
    need_apt "${APT_START[@]}"
    ensure_venv
    exec "$VENV/bin/python" main.py "$@"
    ;;
  test)
    shift || true
    need_apt "${APT_START[@]}" "${APT_TEST[@]}"
    ensure_venv
    if [ $# -gt 0 ]; then
      QT_QPA_PLATFORM=offscreen exec "$VENV/bin/python" -m pytest "$@"
    fi
    # The whole suite on the laptop's SQLite, then the store, rule, ledger and sync tests again
    # on PostgreSQL (the office); both run, the exit code fails if either failed. Each pass is
    # spread over one pytest-xdist worker per core (FIELDCHECK_TEST_WORKERS=0: one process);
    # every worker has its own tmp folders and, on PostgreSQL, its own throwaway server.
    workers=(-n "${FIELDCHECK_TEST_WORKERS:-auto}")
    status=0
    # The layers (.importlinter): which package may import which, who speaks SQL (#13).
    "$VENV/bin/lint-imports" --no-logo || status=$?
    QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest "${workers[@]}" || status=$?
    echo "==> PostgreSQL（办公室）：tests/models tests/sync"
    QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest "${workers[@]}" --backend postgresql tests/models tests/sync || status=$?
    exit $status
    ;;
  package)  # dist/fieldcheck_<version>_amd64.deb (packaging/build_deb.sh)
    shift || true
    # shellcheck disable=SC2046
    need_apt "${APT_START[@]}" $(apt_package)
    ensure_package_tools
    PYTHON=$PWD/$VENV/bin/python exec bash packaging/build_deb.sh "$@"
    ;;
  package-windows)  # dist/fieldcheck-windows-kit/ (packaging/windows_kit.sh)
    shift || true
    ensure_package_tools
    PYTHON=$PWD/$VENV/bin/python exec bash packaging/windows_kit.sh "$@"
    ;;
  *)
    echo "用法：bash dev.sh start|test|package|package-windows" >&2; exit 2 ;;
esac
