"""Markdown written by staff (notes), rendered to HTML that is safe to show."""

from __future__ import annotations

import functools
import html as htmllib

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(text: str) -> SafeString:
    """`text` (Markdown) as sanitized HTML: raw HTML in the input is escaped or stripped,
    links keep only http(s)/mailto URLs and get `rel="noopener noreferrer nofollow"`.

    The same text always renders the same, so recent results are remembered: a contact's
    notes are read far more often than written."""
    return _render(text or "")


@functools.lru_cache(maxsize=2048)
def _render(text: str) -> SafeString:
    html = md.markdown(text, extensions=["extra", "sane_lists", "nl2br"],
                       output_format="html")
    clean = nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above


def plain_excerpt(text: str, limit: int = 280) -> str:
    """A one-paragraph plain-text excerpt of Markdown `text` for timelines and lists."""
    html = md.markdown(text, output_format="html")
    plain = " ".join(htmllib.unescape(nh3.clean(html, tags=set())).split())
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    # End on a whole word when there is one to end on.
    if " " in cut and not plain[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"
