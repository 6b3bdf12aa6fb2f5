"""The Chinese font: found among TrueType fonts, bundled fonts first, a Chinese error when none."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from documents import fonts
from documents.fonts import FontMissingError, document_fonts
from models.errors import FieldCheckError

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


@pytest.fixture(autouse=True)
def _fresh_font_search():
    """Each test searches again; later tests find the real fonts again."""
    document_fonts.cache_clear()
    yield
    document_fonts.cache_clear()


def test_missing_font_gives_a_chinese_message_saying_what_to_install(tmp_path, monkeypatch):
    """No usable font: a FieldCheckError in Chinese naming the package to install."""
    monkeypatch.setattr(fonts, "font_dirs", lambda: [tmp_path / "bundled", tmp_path / "system"])
    with pytest.raises(FieldCheckError) as caught:
        document_fonts()
    assert isinstance(caught.value, FontMissingError)
    text = caught.value.text()
    assert "中文字体" in text and "sudo apt-get install fonts-wqy-microhei" in text
    assert "simsun.ttc" in text and "resources/fonts" in text


@pytest.mark.skipif(not DROID.exists(), reason="Droid Sans Fallback not installed")
def test_font_without_latin_digits_is_not_used(tmp_path, monkeypatch):
    """A CJK font lacking digits (Droid Sans Fallback) is passed over, not embedded."""
    system = tmp_path / "system"
    system.mkdir()
    shutil.copy(DROID, system / "wqy-microhei.ttc")  # even under a preferred name
    monkeypatch.setattr(fonts, "font_dirs", lambda: [tmp_path / "bundled", system])
    with pytest.raises(FontMissingError):
        document_fonts()


def test_non_truetype_file_is_passed_over(tmp_path, monkeypatch):
    """A file reportlab cannot embed (e.g. CFF outlines) is skipped for the next candidate."""
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "NotoSansCJK-Regular.ttc").write_bytes(b"OTTO" + b"\0" * 200)
    monkeypatch.setattr(fonts, "font_dirs", lambda: [bundled, WQY.parent])
    assert document_fonts().body_file == WQY


@pytest.mark.skipif(not WQY.exists(), reason="WenQuanYi Micro Hei not installed")
def test_font_dropped_into_resources_wins(tmp_path, monkeypatch):
    """A TrueType font in resources/fonts is used before the system's fonts."""
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    shutil.copy(WQY, bundled / "MyFont.ttc")
    monkeypatch.setattr(fonts, "font_dirs", lambda: [bundled, WQY.parent])
    found = document_fonts()
    assert found.body_file == bundled / "MyFont.ttc" and found.title_file == found.body_file


def test_default_search_includes_the_bundled_folder():
    """resources/fonts is searched first, then the operating system's font folders."""
    dirs = fonts.font_dirs()
    assert dirs[0].parts[-2:] == ("resources", "fonts") and len(dirs) > 1


SUNG = Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf")


@pytest.mark.skipif(not (SUNG.exists() and WQY.exists()), reason="fonts-arphic-gbsn00lp missing")
def test_body_is_songti_titles_hei_and_wenquanyi_the_fallback():
    """On Debian: AR PL SungtiL GB for the body, WenQuanYi for the titles and as the fallback."""
    found = document_fonts()
    assert found.body_file == SUNG
    assert found.title_file.name in ("wqy-zenhei.ttc", "wqy-microhei.ttc")
    assert found.fallback_file is not None and found.fallback_file.name.startswith("wqy-")


@pytest.mark.skipif(not (SUNG.exists() and WQY.exists()), reason="fonts-arphic-gbsn00lp missing")
def test_windows_fonts_simsun_and_simhei_are_preferred(tmp_path, monkeypatch):
    """Where SimSun and SimHei exist (Windows), they are the body and the title faces."""
    system = tmp_path / "Fonts"
    system.mkdir()
    shutil.copy(SUNG, system / "simsun.ttc")
    shutil.copy(WQY, system / "simhei.ttf")
    shutil.copy(WQY, system / "wqy-microhei.ttc")
    monkeypatch.setattr(fonts, "font_dirs", lambda: [tmp_path / "bundled", system])
    found = document_fonts()
    assert (found.body_file.name, found.title_file.name) == ("simsun.ttc", "simhei.ttf")
