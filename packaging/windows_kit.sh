#!/usr/bin/env bash
# Writes dist/fieldcheck-windows-kit/: every wheel FieldCheck needs on win_amd64 for CPython
# 3.11-3.13, FieldCheck's own wheel, install.ps1 and VERSION — then proves, on this Linux
# machine, that pip resolves FieldCheck for each of those Pythons from the kit alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
KIT=${KIT:-$ROOT/dist/fieldcheck-windows-kit}
PY_VERSIONS=(3.11 3.12 3.13)
VERSION=$(sed -n 's/^version *= *//p' "$ROOT/setup.cfg")
SECONDS=0
rm -rf "$KIT" "$ROOT/build/windows-kit"
mkdir -p "$KIT/wheels" "$ROOT/build/windows-kit"
echo "==> FieldCheck 自身的 wheel"
"$PYTHON" -m pip wheel -q --no-deps -w "$KIT/wheels" "$ROOT"
WHEEL=$(ls "$KIT"/wheels/fieldcheck-*.whl)
for v in "${PY_VERSIONS[@]}"; do
  echo "==> 下载 CPython $v win_amd64 的依赖"
  "$PYTHON" -m pip download -q --dest "$KIT/wheels" --platform win_amd64 \
    --python-version "$v" --implementation cp --only-binary=:all: "$WHEEL"
done
# pip judged the markers as Linux: add what Windows needs besides (tzdata for tzlocal, ...).
closure() { "$PYTHON" "$ROOT/packaging/kit_closure.py" "$KIT/wheels" "$1" "fieldcheck==$VERSION"; }
for v in "${PY_VERSIONS[@]}"; do
  for _round in 1 2 3; do
    mapfile -t LACKING < <(closure "$v")
    [ ${#LACKING[@]} -eq 0 ] && break
    echo "==> CPython $v 在 Windows 上还需要：${LACKING[*]}"
    "$PYTHON" -m pip download -q --dest "$KIT/wheels" --platform win_amd64 \
      --python-version "$v" --implementation cp --only-binary=:all: "${LACKING[@]}"
  done
done
# Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page (GBK): the
# Chinese messages need UTF-8 with a BOM.
{ printf '\xEF\xBB\xBF'; cat "$ROOT/packaging/install.ps1"; } > "$KIT/install.ps1"
printf '%s\n' "$VERSION" > "$KIT/VERSION"
for v in "${PY_VERSIONS[@]}"; do
  echo "==> 只用安装包解析 CPython $v（pip --dry-run --no-index）"
  # No pip configuration of this machine (its find-links, indexes): the kit alone.
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$PYTHON" -m pip install -q --dry-run --no-index --find-links "$KIT/wheels" \
    --platform win_amd64 --python-version "$v" --implementation cp --only-binary=:all: \
    --target "$ROOT/build/windows-kit/target-$v" --report "$ROOT/build/windows-kit/report-$v.json" \
    fieldcheck=="$VERSION"
  "$PYTHON" - "$ROOT/build/windows-kit/report-$v.json" "$v" <<'PY'
import json, re, sys
items = json.load(open(sys.argv[1]))["install"]
names = sorted(re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower() for i in items)
assert "fieldcheck" in names and "pyside6-essentials" in names, names
print(f"    CPython {sys.argv[2]}: pip 解析出 {len(names)} 个包，全部在安装包中")
PY
  LACKING=$(closure "$v")
  [ -z "$LACKING" ] || { echo "安装包不完整（按 Windows 判断依赖条件）：CPython $v 缺 $LACKING" >&2; exit 1; }
  echo "    CPython $v: 按 Windows 的依赖条件逐个核对，没有缺少的包"
done
echo "==> $KIT：$(ls "$KIT/wheels" | wc -l) 个 wheel，$(du -sh "$KIT" | cut -f1)，用时 ${SECONDS}s"
