"""bench/RESULTS.md holds sections written by different tools; each tool replaces only its own."""

import re
from pathlib import Path

# The SQL benchmark (`python -m bench`), the browser benchmark (`python -m bench.browser`) and the member figures
# (`python -m bench.members`), the report, workbook and import beside main's (`python -m bench.speed13`), PostgreSQL at
# 10,000,000 meetings (`python -m bench.pgscale`). Concurrent writers on either engine (`python -m bench.writers`).
SECTIONS = ("sql", "browser", "members", "speed13", "pgscale", "writers")
# Both engines byte for byte (`python -m bench.pgequal`, issue 17).
SECTIONS += ("pgequal",)
LEGACY = "sql"  # a file written before the markers existed is all the SQL benchmark's


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close a named section."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def sections(text: str) -> dict[str, str]:
    """The named sections found in a RESULTS.md text (unmarked text counts as the SQL section)."""
    found = {}
    for name in SECTIONS:
        start, end = markers(name)
        m = re.search(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), text, re.S)
        if m:
            found[name] = m.group(1)
    if not found and text.strip():
        found[LEGACY] = text.strip("\n")
    return found


def merge(text: str, name: str, body: str) -> str:
    """The file's text with section `name` replaced by body, every other section kept as it was, in SECTIONS order."""
    if name not in SECTIONS:
        raise ValueError(f"unknown section {name!r}; known: {', '.join(SECTIONS)}")
    parts = sections(text)
    parts[name] = body.strip("\n")
    out = []
    for section in SECTIONS:
        if section in parts:
            start, end = markers(section)
            out += [start, parts[section], end, ""]
    return "\n".join(out)


def write(path: Path, name: str, body: str) -> None:
    """Write section `name` of the markdown file at path, keeping the other sections."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(merge(old, name, body), encoding="utf-8")
