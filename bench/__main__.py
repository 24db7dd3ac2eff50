"""`python -m bench [--sizes N,N] [--repeat K] [--keep] [--out FILE]`: measure and write bench/RESULTS.md."""

import argparse
import sys
from pathlib import Path

from bench.harness import DEFAULT_SIZES, default_engines, parse_engines, parse_sizes, run
from bench.pages import PAGES

HERE = Path(__file__).resolve().parent


def _pages(text: str) -> list[str]:
    pages = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown pages {unknown}; known: {', '.join(PAGES)}")
    return pages


def main(argv: list[str] | None = None) -> int:
    """Parse the flags and run the benchmark."""
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                   help="meetings per database, comma-separated (default 10000,100000,1000000)")
    p.add_argument("--repeat", type=int, default=9, help="timed runs per measurement after one warm-up (default 9)")
    p.add_argument("--keep", action="store_true", help="reuse bench/bench-N.db when it already holds N meetings")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="markdown file to write (default "
                   "bench/RESULTS.md)")
    p.add_argument("--period", default="2025", help="period whose figures are timed (default 2025)")
    p.add_argument("--db-dir", type=Path, default=HERE, help="where the databases go (default bench/)")
    p.add_argument("--pages", type=_pages, default=None, help=f"subset of {','.join(PAGES)}")
    p.add_argument("--no-naive", dest="naive", action="store_false", help="skip the naive pandas version")
    p.add_argument("--notes", type=Path, default=HERE / "NOTES.md",
                   help="markdown file appended to the results as notes (default bench/NOTES.md, if it exists)")
    p.add_argument("--engines", type=parse_engines, default=None,
                   help="sqlite,postgresql: time the pages on PostgreSQL too, beside SQLite (default: both where "
                        "PostgreSQL's server is installed, else sqlite)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    notes = args.notes.read_text(encoding="utf-8") if args.notes and args.notes.exists() else ""
    run(args.sizes, args.repeat, args.keep, args.out, args.period, args.db_dir, args.pages, args.naive, notes,
        argv, engines=args.engines or default_engines())
    return 0


if __name__ == "__main__":
    sys.exit(main())
