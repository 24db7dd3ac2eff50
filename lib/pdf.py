"""PDF from a DOCX, rendered by LibreOffice headless (Debian's libreoffice-writer-nogui)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PDF_MIME = "application/pdf"
TIMEOUT_S = 120


class PdfUnavailable(RuntimeError):
    """LibreOffice is not installed, or it could not render the document (the reason in .reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # an i18n key suffix: "missing" or "failed"


def soffice() -> str | None:
    """The LibreOffice program on this machine, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    """Whether a PDF can be made here."""
    return soffice() is not None


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF of a DOCX document; PdfUnavailable when LibreOffice is absent or fails."""
    program = soffice()
    if program is None:
        raise PdfUnavailable("missing")
    with tempfile.TemporaryDirectory(prefix="chibo-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / "report.docx"
        source.write_bytes(docx)
        # A profile of its own: a second LibreOffice (another conversion, a user's) shares no lock with this one.
        profile = (folder / "profile").as_uri()
        env = {**os.environ, "HOME": tmp}
        try:
            subprocess.run([program, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                            "--convert-to", "pdf", "--outdir", tmp, str(source)],
                           check=True, capture_output=True, timeout=TIMEOUT_S, env=env)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            raise PdfUnavailable("failed") from None
        target = folder / "report.pdf"
        if not target.exists():
            raise PdfUnavailable("failed")
        return target.read_bytes()
