"""Translations: t(key) over lib/locales/vi.toml (default) and en.toml."""

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALES = Path(__file__).resolve().parent / "locales"

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every string of one language, keyed by dotted name."""
    with open(LOCALES / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def get_language() -> str:
    """The language of the current session or thread."""
    return _language.get()


def set_language(lang: str) -> None:
    """Set the language for the current session or thread."""
    _language.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Use a language inside a block."""
    token = _language.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text for key in the given or current language, with {params} filled in."""
    lang = lang or get_language()
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has(key: str, lang: str | None = None) -> bool:
    """Whether a key is translated."""
    return key in catalogue(lang or get_language())
