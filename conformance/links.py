"""Which strings from data may become links: http(s) URLs only.

Manifest ``link``s, claims ``sources`` and upstream documentation links come from files anyone can edit, and the
report publishes them.  A ``javascript:`` or ``data:`` URL rendered as a live link would run in a reader's browser,
so the validators reject other schemes and the report renders them as plain text; both ask this one function.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
_FORBIDDEN = frozenset("<>`\"' \t\r\n\\")
"""Characters that no URL we publish needs and that could break out of reST or HTML markup."""


def is_web_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host and no character that could escape markup."""
    if not isinstance(value, str):
        return False
    url = value.strip()
    if not url or any(c in _FORBIDDEN or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc) and url.lower().startswith(("http://", "https://"))
