"""What a home page must show: the record number, linked to the MIIT site.

Decree 33 art. 13 wants the number at the bottom of the home page linked to the bureau's
public query site; the check reads the page's text and links with the standard library's
HTML parser, which tolerates the broken markup real sites serve.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

MIIT_HOST = "beian.miit.gov.cn"
MIIT_URL = f"https://{MIIT_HOST}"


class _Footer(HTMLParser):
    """Collects the page's visible text and, per link to the MIIT site, the text it wraps."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.miit_links: list[list[str]] = []
        self._open_link: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self._open_link = [] if urlsplit(href.strip()).hostname == MIIT_HOST else None
            if self._open_link is not None:
                self.miit_links.append(self._open_link)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "a":
            self._open_link = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._open_link is not None:
            self._open_link.append(data)


def _squeeze(text: str) -> str:
    return "".join(text.split())


def footer_problems(html: str, record_number: str) -> list[str]:
    """What is wrong with ``html`` as the home page of the service numbered ``record_number``
    (empty when the footer is right). The entity number alone (without the service's suffix)
    counts, as sites often show that."""
    page = _Footer()
    page.feed(html)
    page.close()
    accepted = {_squeeze(record_number), _squeeze(record_number.rsplit("-", 1)[0])}
    problems: list[str] = []
    if not any(number in _squeeze("".join(page.text)) for number in accepted):
        problems.append(f"the record number {record_number} is not shown")
    if not page.miit_links:
        problems.append(f"no link to {MIIT_URL}")
    elif not any(
        number in _squeeze("".join(link)) for link in page.miit_links for number in accepted
    ):
        problems.append(f"the link to {MIIT_URL} does not carry the record number")
    return problems
