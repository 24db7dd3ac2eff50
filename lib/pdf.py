"""PDF from a DOCX, rendered by LibreOffice headless (Debian's libreoffice-writer-nogui), and PDF pages as PNG."""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from lib.i18n import t

PDF_MIME = "application/pdf"
TIMEOUT_S = 120
# LibreOffice takes some 200 MB and a core per conversion; more than this many at once wait their turn rather than
# push the server into swap (two at once both run: tests/test_pdf.py).
MAX_PARALLEL = 2
# What an administrator installs (Debian 12): the converter, the Times New Roman metric twin with Vietnamese
# (Liberation Serif 2) and the serif of the charts.
PACKAGES = "libreoffice-writer-nogui fonts-liberation2 fonts-freefont-ttf"
_slots = threading.BoundedSemaphore(MAX_PARALLEL)


class PdfUnavailable(RuntimeError):
    """LibreOffice is not installed, or it could not render the document (the reason in .reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # an i18n key suffix: "missing" or "failed"

    def __str__(self) -> str:
        return message(self.reason)


def message(reason: str) -> str:
    """What to tell the user when no PDF could be made: what to install, or what to do instead."""
    return t(f"pdfcharts.pdf_{reason}", packages=PACKAGES, seconds=TIMEOUT_S)


def soffice() -> str | None:
    """The LibreOffice program on this machine, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    """Whether a PDF can be made here."""
    return soffice() is not None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # all gone already


def _run(command: list[str], env: dict[str, str], timeout: float) -> None:
    # A session of its own: soffice is a script that starts oosplash, which starts soffice.bin; when it is done or
    # timed out the whole group is killed, not only the script (a stray soffice.bin would hold a core and memory).
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    finally:
        _kill_group(proc.pid)
        proc.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, command)


def docx_to_pdf(docx: bytes, timeout: float = TIMEOUT_S) -> bytes:
    """The PDF of a DOCX document; PdfUnavailable when LibreOffice is absent or fails."""
    program = soffice()
    if program is None:
        raise PdfUnavailable("missing")
    with _slots, tempfile.TemporaryDirectory(prefix="chibo-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / "report.docx"
        source.write_bytes(docx)
        # A profile of its own: a second LibreOffice (another conversion, a user's) shares no lock with this one.
        profile = (folder / "profile").as_uri()
        env = {**os.environ, "HOME": tmp}
        try:
            _run([program, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                  "--nodefault", "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export", "--outdir", tmp,
                  str(source)], env, timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            raise PdfUnavailable("failed") from None
        target = folder / "report.pdf"
        if not target.exists() or not target.read_bytes().startswith(b"%PDF"):
            raise PdfUnavailable("failed")
        return target.read_bytes()


def pdf_pages_png(pdf: bytes, out_dir: Path, stem: str = "page", dpi: int = 60) -> list[Path]:
    """Each page of a PDF as a PNG in out_dir (stem-01.png, stem-02.png…, Poppler's pdftoppm); the files in order."""
    from PIL import Image  # Pillow comes with Streamlit; only this tool needs it here

    program = shutil.which("pdftoppm")
    if program is None:
        raise PdfUnavailable("no_pdftoppm")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chibo-pages-") as tmp:
        source = Path(tmp) / "report.pdf"
        source.write_bytes(pdf)
        try:
            subprocess.run([program, "-r", str(dpi), "-png", str(source), str(Path(tmp) / "p")], check=True,
                           capture_output=True, timeout=TIMEOUT_S)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            raise PdfUnavailable("failed") from None
        # pdftoppm pads the page number to the page count's width (p-01.png…): renumber plainly, in page order
        made = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        pages = []
        for number, png in enumerate(made, start=1):
            target = out_dir / f"{stem}-{number:02d}.png"
            # one grey channel: the report prints in black and white (its charts too), at a third of the size
            with Image.open(png) as image:
                image.convert("L").save(target, optimize=True)
            pages.append(target)
        return pages
