"""The nginx site sends an address with a "/" after the page's name to that page, not to a blank screen.

Streamlit answers every unknown address with its page, whose scripts are relative ("./static/..."): under
/abc/def they are looked up in /abc/static/, answered with the page again, and nothing is drawn. The site's
redirect is checked here with Python's re (the lookaheads mean the same in nginx's PCRE); the same rule was
run in nginx 1.22 in front of the app and driven in chromium (docs/DEPLOY.md).
"""

import re
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parent.parent / "deploy" / "nginx-chibo.conf"


def _redirect() -> tuple[re.Pattern, str]:
    """The site's regex location and where it sends a match."""
    text = SITE.read_text()
    (found,) = re.findall(r'location ~ "([^"]+)" \{\s*return 302 ([^;]+);\s*\}', text)
    return re.compile(found[0]), found[1]


def _target(path: str) -> str | None:
    """Where the rule sends path (without its query), or None when it leaves it to Streamlit."""
    pattern, target = _redirect()
    m = pattern.search(path)
    if not m:
        return None
    return target.replace("$1", m.group(1)).replace("$is_args$args", "")


@pytest.mark.parametrize(("path", "expected"), [
    ("/abc/def", "/abc"),
    ("/abc/def/ghi", "/abc"),
    ("/tai-khoan/", "/tai-khoan"),
    ("/tong-quan/x.js", "/tong-quan"),
])
def test_an_address_below_a_page_goes_to_the_page(path, expected):
    assert _target(path) == expected


@pytest.mark.parametrize("path", [
    "/", "/tai-khoan", "/favicon.png",
    "/_stcore/stream", "/_stcore/health", "/_stcore/upload_file/abc/def",
    "/static/js/index.DormvYxC.js", "/component/cookies/index.html", "/media/abc.png", "/app/static/x.png",
    # the page probes /<page>/_stcore/health before /_stcore/health: a redirect would make it take the page's
    # address as the app's root
    "/tai-khoan/_stcore/health", "/abc/def/_stcore/host-config",
    # "Location: /\\evil.example" would be read by a browser as //evil.example: only page-like names are sent on
    "/\\evil.example/x", "/%5Cevil.example/x",
])
def test_streamlit_own_addresses_and_plain_pages_are_left_alone(path):
    assert _target(path) is None


def test_the_redirect_keeps_the_query_and_stays_on_this_site():
    _, target = _redirect()
    assert target == "/$1$is_args$args"  # a path on this host: never an open redirect elsewhere
