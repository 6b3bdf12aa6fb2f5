#!/usr/bin/env bash
# Smoke test of the .deb on this machine, as root; leaves nothing installed.
#   packaging/smoke_deb.sh dist/fieldcheck_<v>_amd64.deb [--old OLDER.deb | --old-ref GITREF]
# 1. installs an older package — given, or built from an older commit (--old-ref), or by
#    default the same frozen build stamped with a lower version —
#    fills the default data folder with `fieldcheck-cli demo`, notes `status --json`;
# 2. installs the new package over it: same data folder, same counts, audit chain intact,
#    and a backup in backups/ when the schema was migrated;
# 3. the frozen executable as the staging child, a signed PDF with the bundled font, and
#    `release verify` refusing an unsigned update and one signed by another key;
# 4. the GUI for ten seconds under Xvfb (screenshot in build/smoke/gui.png);
# 5. removes the package (the user's data folder stays).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NEW=$(realpath "$1"); shift
OLD= OLD_REF=
while [ $# -gt 0 ]; do
  case "$1" in
    --old) OLD=$(realpath "$2"); shift 2 ;;
    --old-ref) OLD_REF=$2; shift 2 ;;
    *) echo "未知参数：$1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "冒烟测试需要 root（apt-get install）" >&2; exit 2; }
if dpkg-query -W -f='${Status}' fieldcheck 2>/dev/null | grep -q "install ok installed"; then
  echo "本机已安装 fieldcheck，冒烟测试不会覆盖它；请先卸载" >&2; exit 2
fi
OUT=$ROOT/build/smoke
rm -rf "$OUT"; mkdir -p "$OUT/home"
export HOME=$OUT/home DEBIAN_FRONTEND=noninteractive
unset FIELDCHECK_DATA_DIR XDG_DATA_HOME
DATA=$HOME/.local/share/FieldCheck
SECONDS=0
step() { echo "==> [${SECONDS}s] $*"; }
fail() { echo "冒烟测试失败：$*" >&2; exit 1; }
cleanup() {
  if dpkg-query -W -f='${Status}' fieldcheck 2>/dev/null | grep -q "installed"; then
    apt-get remove -y -qq --purge fieldcheck >/dev/null || dpkg --purge fieldcheck || true
  fi
}
trap cleanup EXIT

NEW_VERSION=$(dpkg-deb -f "$NEW" Version)
if [ -z "$OLD" ] && [ -n "$OLD_REF" ]; then
  step "旧版本包：冻结 $OLD_REF 的源码"
  mkdir -p "$OUT/old-src"
  git -C "$ROOT" archive "$OLD_REF" | tar -x -C "$OUT/old-src"
  OLD_VERSION="$(sed -n 's/^version *= *//p' "$OUT/old-src/setup.cfg")~smoke0"
  bash "$ROOT/packaging/build_deb.sh" --src "$OUT/old-src" --work "$OUT/old-work" \
    --version "$OLD_VERSION" --compress none --out "$OUT" >/dev/null
  OLD=$OUT/fieldcheck_${OLD_VERSION}_amd64.deb
elif [ -z "$OLD" ]; then
  step "旧版本包：同一冻结结果，版本号 ${NEW_VERSION}~smoke0"
  bash "$ROOT/packaging/build_deb.sh" --reuse --version "${NEW_VERSION}~smoke0" \
    --compress none --out "$OUT" >/dev/null
  OLD=$OUT/fieldcheck_${NEW_VERSION}~smoke0_amd64.deb
fi

step "安装旧版本 $(dpkg-deb -f "$OLD" Version)"
apt-get install -y -qq "$OLD" >/dev/null
fieldcheck-cli demo
fieldcheck-cli status --json > "$OUT/status-old.json"
revision() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select version_num from alembic_version').fetchone()[0])" "$DATA/fieldcheck.db"; }
OLD_REV=$(revision)
backups() { if [ -d "$DATA/backups" ]; then find "$DATA/backups" -type f | wc -l; else echo 0; fi; }
BACKUPS_BEFORE=$(backups)

step "升级到 $NEW_VERSION"
apt-get install -y -qq "$NEW" >/dev/null
[ "$(dpkg-query -W -f='${Version}' fieldcheck)" = "$NEW_VERSION" ] || fail "升级后版本不对"
fieldcheck-cli status --json > "$OUT/status-new.json"
python3 - "$OUT/status-old.json" "$OUT/status-new.json" <<'PY'
import json, sys
old, new = (json.load(open(p)) for p in sys.argv[1:3])
assert new["audit_chain"]["intact"], new["audit_chain"]
for key in ("enterprises", "inspections", "hazards", "photos", "documents", "data_dir"):
    assert old[key] == new[key], (key, old[key], new[key])
for key in ("device_id", "device_fingerprint"):  # an older version may not print them
    assert old.get(key, new[key]) == new[key], (key, old[key], new[key])
assert new["audit_events"] >= old["audit_events"]
print(f"    数据完好：{new['data_dir']}，企业 {new['enterprises']}，检查 {new['inspections']}，"
      f"执法记录 {new['audit_events']} 条，记录链完整")
PY
NEW_REV=$(revision)
if [ "$OLD_REV" != "$NEW_REV" ]; then
  [ "$(backups)" -gt "$BACKUPS_BEFORE" ] || fail "迁移 $OLD_REV→$NEW_REV 之前没有备份"
  echo "    数据库已迁移 $OLD_REV → $NEW_REV，迁移前备份：$(ls -t "$DATA/backups" | head -1)"
else
  echo "    两个版本的数据库结构相同（$NEW_REV），无需迁移"
fi

# The frozen build as the import's and the export's child, driven as FieldCheck drives them
# (sync/child_process.py): the job on stdin, kept open until the answer — its end tells the
# child that its parent is gone.
cat > "$OUT/run_child.py" <<'PY'
import json, subprocess


def run_child(flag: str, job: dict) -> list:
    """The child's answer lines up to its last ("done" or "error"), after it left."""
    child = subprocess.Popen(["fieldcheck-cli", flag], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    child.stdin.write(json.dumps(job).encode() + b"\n")
    child.stdin.flush()
    lines = []
    for raw in child.stdout:
        lines.append(json.loads(raw.decode()))
        if lines[-1][0] in ("done", "error"):
            break
    child.stdin.close()
    assert child.wait(timeout=60) in (0, 3), lines  # 3: it saw stdin close before it left
    assert lines and lines[-1][0] == "done", lines
    return lines
PY

step "冻结程序作为导入的读取子进程（--staging-child）"
python3 - "$OUT" <<'PY'
import hashlib, os, sys, zipfile
out = sys.argv[1]
sys.path.insert(0, out)
from run_child import run_child
payload = os.urandom(3 * 1024 * 1024)
with zipfile.ZipFile(f"{out}/child.zip", "w") as zf:
    zf.writestr("files/photo.jpg", payload)
os.makedirs(f"{out}/stage", exist_ok=True)
done = run_child("--staging-child", {"zip": f"{out}/child.zip", "stage": f"{out}/stage",
                                     "jobs": [["files/photo.jpg", len(payload)]]})[-1]
size, sha, path = done[1]["files/photo.jpg"]
assert sha == hashlib.sha256(payload).hexdigest() and open(path, "rb").read() == payload
print("    子进程读取、校验并暂存了 3 MB，哈希一致")
PY

step "冻结程序作为导出的复制子进程（--export-files-child）"
python3 - "$OUT" <<'PY'
import hashlib, os, sys, zipfile
out = sys.argv[1]
sys.path.insert(0, out)
from run_child import run_child
payload = os.urandom(3 * 1024 * 1024)
sha = hashlib.sha256(payload).hexdigest()
with open(f"{out}/{sha}.jpg", "wb") as fh:
    fh.write(payload)
entry = f"files/photos/{sha}.jpg"
open(f"{out}/export-child.zip", "wb").close()  # the exporter's file, opened by the child
run_child("--export-files-child", {"zip": f"{out}/export-child.zip", "flush": True,
                                   "jobs": [[entry, f"{out}/{sha}.jpg", sha]],
                                   "when": [2026, 12, 1, 8, 0, 0]})
with zipfile.ZipFile(f"{out}/export-child.zip") as zf:
    assert zf.read(entry) == payload
print("    子进程复制、校验并写入了 3 MB，内容一致")
PY

step "签章 PDF（随包字体）"
# A demo store made by this version (the one above predates the demo marker, so it is a real
# store now and hands out only documents people signed).
DEMO_NEW=$OUT/demo-new
fieldcheck-cli demo --data-dir "$DEMO_NEW" >/dev/null
ID=$(fieldcheck-cli inspections --json --data-dir "$DEMO_NEW" | python3 -c "import json,sys; print([r['id'] for r in json.load(sys.stdin) if r['status']=='finalized'][0])")
fieldcheck-cli pdf "$ID" --out "$OUT/pdf" --data-dir "$DEMO_NEW" >/dev/null
PDF=$(ls "$OUT"/pdf/*.pdf | head -1)
fieldcheck-cli verify "$PDF" >/dev/null || fail "PDF 签名校验失败"
if command -v pdffonts >/dev/null; then
  pdffonts "$PDF" | grep -q "WenQuanYiMicroHei.*yes yes" || fail "PDF 未嵌入文泉驿字体"
fi
echo "    $(basename "$PDF")：签名有效，字体已嵌入"

step "检查更新：安装的程序拒绝未签名、或非本单位发布密钥签名的更新"
cp "$NEW" "$OUT/"
UPD=$OUT/$(basename "$NEW")
if fieldcheck-cli release verify "$UPD" 2>"$OUT/verify.err"; then fail "未签名的更新被接受"; fi
grep -q "未签名" "$OUT/verify.err" || fail "未签名：$(cat "$OUT/verify.err")"
FIELDCHECK_RELEASE_PASSPHRASE=smoke fieldcheck-cli release keygen --out "$OUT/stranger-key" >/dev/null
FIELDCHECK_RELEASE_PASSPHRASE=smoke fieldcheck-cli release sign "$UPD" --key "$OUT/stranger-key/release-private.pem" >/dev/null
if fieldcheck-cli release verify "$UPD" 2>"$OUT/verify.err"; then fail "他人密钥签名的更新被接受"; fi
grep -q "不是本单位发布密钥" "$OUT/verify.err" || fail "他人密钥：$(cat "$OUT/verify.err")"
echo "    $(cat "$OUT/verify.err")"

step "图形界面在 Xvfb 下运行 10 秒"
command -v xvfb-run >/dev/null || fail "缺少 xvfb-run（apt-get install xvfb）"
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  fieldcheck > "$0/gui.log" 2>&1 & pid=$!
  sleep 10
  command -v import >/dev/null && import -window root "$0/gui.png" 2>/dev/null
  kill -0 $pid || { echo "界面进程已退出：$(cat "$0/gui.log")" >&2; exit 1; }
  kill $pid; wait $pid || true' "$OUT"
if grep -q -E "ERROR|Traceback|Could not load the Qt platform plugin" "$OUT/gui.log" "$DATA/fieldcheck.log" 2>/dev/null; then
  fail "界面日志中有错误：$(cat "$OUT/gui.log")"
fi
echo "    界面运行 10 秒无错误$( [ -f "$OUT/gui.png" ] && echo "，截图 $OUT/gui.png")"

step "卸载"
apt-get remove -y -qq --purge fieldcheck >/dev/null
[ ! -e /opt/fieldcheck ] && [ ! -e /usr/bin/fieldcheck ] || fail "卸载后仍有文件"
[ -f "$DATA/fieldcheck.db" ] || fail "卸载删掉了用户数据"
echo "==> 冒烟测试通过（${SECONDS}s）：升级保留数据，卸载不留程序文件、保留用户数据"
# Counted by CI like a test runner's closing line: the seven steps above.
echo "smoke: 7 passed, 0 failed"
