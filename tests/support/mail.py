"""Reading the links our e-mails carry, as a person's mail client would show them."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

_LINK = re.compile(r"https?://\S+")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None, "the e-mail has no text part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def link_in(message: EmailMessage, path: str) -> str:
    """The one URL in the text part whose path is `path`."""
    urls: list[str] = _LINK.findall(text_of(message))
    [url] = [url for url in urls if urlsplit(url).path == path]
    return url


def token_in(message: EmailMessage, path: str) -> str:
    """The `token` query parameter of that link: what the front end would post to the API."""
    [token] = parse_qs(urlsplit(link_in(message, path)).query)["token"]
    return str(token)
