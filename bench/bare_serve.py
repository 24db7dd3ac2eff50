"""Serve a bare Streamlit script the way the app is served (`python -m bench.bare_serve SCRIPT [options]`).

The browser benchmark compares the app with a bare page; both servers start with lib.ui.no_nagle, so the
comparison is of the pages, not of a socket option the app sets and stock Streamlit does not.
"""

import sys

from lib.ui import no_nagle


def main(argv: list[str]) -> int:
    """Run `streamlit run SCRIPT OPTIONS` in this process, Nagle's algorithm off as for the app."""
    from streamlit.web import cli as streamlit_cli

    no_nagle()
    sys.argv = ["streamlit", "run", *argv]
    try:
        streamlit_cli.main()
    except SystemExit as end:
        return end.code if isinstance(end.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
