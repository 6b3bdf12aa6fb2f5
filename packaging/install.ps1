# FieldCheck offline installer for Windows (no network needed).
# Run in PowerShell from this folder:  powershell -ExecutionPolicy Bypass -File install.ps1
# Needs Python 3.11, 3.12 or 3.13 (64-bit) from python.org, installed for this user.
$ErrorActionPreference = "Stop"
$Kit = Split-Path -Parent $MyInvocation.MyCommand.Path
$Version = (Get-Content (Join-Path $Kit "VERSION")).Trim()
# The program apart from the data folder (%LOCALAPPDATA%\FieldCheck), which an update keeps.
$Target = Join-Path $env:LOCALAPPDATA "Programs\FieldCheck"

$Python = $null
foreach ($v in "3.13", "3.12", "3.11") {
    try { & py "-$v" -c "import sys" 2>$null; if ($LASTEXITCODE -eq 0) { $Python = @("py", "-$v"); break } } catch {}
}
if (-not $Python) {
    Write-Host "未找到 Python 3.11–3.13（64 位）。请先从 python.org 安装 Python，然后重新运行本脚本。" -ForegroundColor Red
    exit 2
}
Write-Host "使用 Python：$($Python -join ' ')；安装到 $Target"
# Started by 「检查更新」: let the running FieldCheck close first (its files are in use).
Get-Process fieldcheck -ErrorAction SilentlyContinue | Wait-Process -Timeout 300 -ErrorAction SilentlyContinue
# A new virtualenv each time; the data folder is not in it.
if (Test-Path $Target) { Remove-Item -Recurse -Force $Target }
& $Python[0] $Python[1] -m venv $Target
if ($LASTEXITCODE -ne 0) { Write-Host "无法创建虚拟环境：$Target" -ForegroundColor Red; exit 2 }
& "$Target\Scripts\python.exe" -m pip install --no-index --find-links (Join-Path $Kit "wheels") "fieldcheck==$Version"
if ($LASTEXITCODE -ne 0) { Write-Host "安装失败：安装包不完整或与该 Python 版本不符，请向办公室索取新的安装包。" -ForegroundColor Red; exit 2 }

$Programs = [Environment]::GetFolderPath("Programs")
$Shell = New-Object -ComObject WScript.Shell
$Link = $Shell.CreateShortcut((Join-Path $Programs "工贸安全现场检查.lnk"))
$Link.TargetPath = "$Target\Scripts\fieldcheck.exe"
$Link.WorkingDirectory = $env:USERPROFILE
$Link.Description = "FieldCheck 工贸安全现场检查"
$Link.Save()
Write-Host "已安装 FieldCheck $Version。开始菜单中有「工贸安全现场检查」。" -ForegroundColor Green
