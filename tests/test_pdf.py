"""The report as PDF (lib/pdf.py: LibreOffice headless), beside DOCX on the Reports page and in the `report` command,
and its page images (`report-pages`); a clear message naming what to install where LibreOffice is absent."""

import io
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from lib import pdf, reports
from tests.test_reports import PERIOD, ROOT, open_reports, run_cli, world  # noqa: F401 (world: a fixture)

WORDS = ("Đảng bộ xã An Trường", "Chi bộ ấp Mỹ Cẩm", "Nguyễn Thị Thủy", "quý III năm 2025", "lượt vắng không lý do")


def vietnamese_docx(title: str) -> bytes:
    """A small DOCX in Times New Roman 14, as the report is, with Vietnamese words of every tone."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(14)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Times New Roman")
    doc.add_paragraph(title)
    for word in WORDS:
        doc.add_paragraph(f"{word}: đã dự, ưu điểm, hạn chế, khuyết điểm.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True,
                          timeout=60).stdout.decode()


def pdf_fonts(content: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    return [line.split()[0].split("+")[-1] for line in lines[2:]]


def test_the_tools_are_installed():
    # .ci/run installs them (Debian's libreoffice-writer-nogui, poppler-utils): a missing one fails, never skips
    assert pdf.available() and shutil.which("pdftoppm") and shutil.which("pdftotext")


def test_a_vietnamese_docx_becomes_a_pdf_with_its_words_in_liberation_serif(tmp_path):
    content = pdf.docx_to_pdf(vietnamese_docx("BÁO CÁO tình hình sinh hoạt chi bộ"))
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for word in ("BÁO CÁO tình hình sinh hoạt chi bộ", *WORDS, "ưu điểm, hạn chế, khuyết điểm"):
        assert word in text
    # Times New Roman is drawn in its metric twin with every Vietnamese letter: no glyph fell back to another font
    assert set(pdf_fonts(content, tmp_path)) == {"LiberationSerif"}


def test_two_conversions_at_once_both_succeed():
    results: dict[int, bytes | Exception] = {}

    def convert(n: int) -> None:
        try:
            results[n] = pdf.docx_to_pdf(vietnamese_docx(f"Báo cáo thứ {n}"))
        except Exception as exc:  # noqa: BLE001 (the assertion below names it)
            results[n] = exc

    threads = [threading.Thread(target=convert, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in (1, 2):
        assert isinstance(results[n], bytes), results[n]
        assert f"Báo cáo thứ {n}" in pdf_text(results[n])


def fake_soffice(folder: Path, body: str) -> None:
    """A stand-in soffice on PATH (first), running body in sh."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "soffice"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


def test_missing_libreoffice_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice, no libreoffice
    assert not pdf.available()
    with pytest.raises(pdf.PdfUnavailable) as raised:
        pdf.docx_to_pdf(vietnamese_docx("x"))
    assert raised.value.reason == "missing"
    assert "apt-get install -y libreoffice-writer-nogui" in str(raised.value)
    assert "LibreOffice" in str(raised.value) and "Word" in str(raised.value)


def test_a_hung_conversion_is_stopped_with_everything_it_started(monkeypatch, tmp_path):
    # soffice is a script that starts soffice.bin: on a timeout the child goes too, not only the script
    pidfile = tmp_path / "child.pid"
    fake_soffice(tmp_path / "bin", f"sleep 300 &\necho $! > {pidfile}\nwait\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    with pytest.raises(pdf.PdfUnavailable) as raised:
        pdf.docx_to_pdf(vietnamese_docx("x"), timeout=2)
    assert raised.value.reason == "failed" and "LibreOffice" in str(raised.value)
    child = int(pidfile.read_text())
    for _ in range(50):  # the kill is sent; the kernel reaps the orphan soon after
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{child}/stat") as stat:
            if stat.read().split()[2] == "Z":
                break
        time.sleep(0.1)
    else:
        pytest.fail(f"soffice's child {child} still runs")


def test_a_failed_conversion_says_so(monkeypatch, tmp_path):
    fake_soffice(tmp_path / "bin", "exit 0\n")  # ends well but writes no PDF
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    with pytest.raises(pdf.PdfUnavailable) as raised:
        pdf.docx_to_pdf(vietnamese_docx("x"))
    assert raised.value.reason == "failed"


def test_at_most_two_conversions_run_at_once(monkeypatch, tmp_path):
    # Each stand-in conversion notes how many others were running when it started, then writes a PDF.
    running, log = tmp_path / "running", tmp_path / "log"
    running.mkdir()
    fake_soffice(tmp_path / "bin", f"""touch {running}/$$
ls {running} | wc -l >> {log}
sleep 0.3
rm {running}/$$
dir=""; prev=""; for a; do [ "$prev" = --outdir ] && dir="$a"; prev="$a"; done
printf '%%PDF-1.4 fake' > "$dir/report.pdf"
""")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    threads = [threading.Thread(target=pdf.docx_to_pdf, args=(b"docx",)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = [int(x) for x in log.read_text().split()]
    assert len(counts) == 5 and max(counts) <= pdf.MAX_PARALLEL


def test_report_formats_and_file_names():
    assert reports.FORMATS == ("docx", "xlsx", "pdf")
    assert reports.file_name("2025-Q1", "pdf") == "bao-cao-2025-Q1.pdf"
    assert reports.file_name("2025-Q1", "pdf", "NL") == "bao-cao-2025-Q1-NL.pdf"
    assert reports.MIMES["pdf"] == "application/pdf"
    with pytest.raises(ValueError, match="odt"):
        reports.builder("odt")


def test_cli_report_as_pdf_is_the_docx_rendered(db_path, world, tmp_path):  # noqa: F811
    out = tmp_path / "bao-cao.pdf"
    done = run_cli(db_path, "report", "--period", PERIOD, "--format", "pdf", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = pdf_text(out.read_bytes())
    assert "BÁO CÁO" in text and "quý I năm 2025" in text and "IV. KIẾN NGHỊ, ĐỀ XUẤT" in text
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in text


def test_cli_report_as_pdf_without_libreoffice_says_what_to_install(db_path, world, tmp_path):  # noqa: F811
    out = tmp_path / "bao-cao.pdf"
    done = subprocess.run([sys.executable, "-m", "lib", "--db", str(db_path), "report", "--period", PERIOD,
                           "--format", "pdf", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PATH": str(tmp_path)})
    assert done.returncode == 3 and not out.exists()
    assert "apt-get install -y libreoffice-writer-nogui" in done.stderr and "Traceback" not in done.stderr


def test_report_pages_writes_one_png_per_page(db_path, world, tmp_path):  # noqa: F811
    from PIL import Image

    out = tmp_path / "pages"
    done = run_cli(db_path, "report-pages", "--period", PERIOD, "--out", str(out))
    assert done.returncode == 0, done.stderr
    pages = sorted(out.glob("*.png"))
    pdf_file = tmp_path / "r.pdf"
    assert run_cli(db_path, "report", "--period", PERIOD, "--format", "pdf", "--out", str(pdf_file)).returncode == 0
    info = subprocess.run(["pdfinfo", str(pdf_file)], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    assert [p.name for p in pages] == [f"bao-cao-2025-Q1-{n:02d}.png" for n in range(1, count + 1)]
    assert count >= 2 and f"Đã xuất {count} trang" in done.stdout
    with Image.open(pages[0]) as image:  # A4 at 60 dpi: 8.27 × 11.69 inches
        assert abs(image.width - 496) <= 2 and abs(image.height - 701) <= 2
    # a DOCX given (the issued one) is shown as it is, named after its file
    docx_file = tmp_path / "so-12-BC.docx"
    docx_file.write_bytes(vietnamese_docx("Báo cáo đã ban hành"))
    done = run_cli(db_path, "report-pages", "--docx", str(docx_file), "--out", str(out), "--dpi", "30")
    assert done.returncode == 0 and (out / "so-12-BC-01.png").is_file()
    # neither a period nor a file: say what to give
    done = run_cli(db_path, "report-pages", "--out", str(out))
    assert done.returncode == 2 and "--period" in done.stderr and "--docx" in done.stderr


def test_reports_page_offers_the_report_as_pdf(db_path, world):  # noqa: F811
    at = open_reports(db_path, "admin")
    at.radio(key="reports_kind").set_value("quarter")
    at.selectbox(key="reports_year").set_value(2025)
    at.selectbox(key="reports_quarter").set_value(1)
    at.radio(key="reports_format").set_value("pdf").run()
    assert "Báo cáo (PDF)" in at.radio(key="reports_format").options
    assert not at.warning
    at.button(key="reports_generate").click().run()
    assert not at.exception and not at.error
    made = at.session_state["reports_file"]
    assert made["name"] == "bao-cao-2025-Q1.pdf" and made["data"].startswith(b"%PDF")
    assert "BÁO CÁO" in pdf_text(made["data"])
    keys = [b.key for b in at.get("download_button")]
    assert "reports_download" in keys
    # the leader's form: PDF beside DOCX
    assert {"reports_leader_download", "reports_leader_download_pdf"} <= set(keys)


def test_reports_page_without_libreoffice_names_what_to_install(db_path, world, monkeypatch):  # noqa: F811
    monkeypatch.setattr(pdf, "soffice", lambda: None)
    at = open_reports(db_path, "admin")
    at.radio(key="reports_kind").set_value("quarter")
    at.selectbox(key="reports_year").set_value(2025)
    at.selectbox(key="reports_quarter").set_value(1)
    at.radio(key="reports_format").set_value("pdf").run()
    assert [w.value for w in at.warning] == [pdf.message("missing")]
    assert "apt-get install -y libreoffice-writer-nogui" in at.warning[0].value
    at.button(key="reports_generate").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [pdf.message("missing")]
    assert "reports_file" not in at.session_state
    # the leader's form is still offered in Word, the PDF's place saying what to install
    keys = [b.key for b in at.get("download_button")]
    assert "reports_leader_download" in keys and "reports_leader_download_pdf" not in keys
    assert pdf.message("missing") in [c.value for c in at.caption]
