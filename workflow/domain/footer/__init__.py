"""What a home page must show: the record number, linked to the MIIT site.

Decree 33 art. 13 wants the number at the bottom of the home page linked to the bureau's
public query site. The page is parsed as a browser parses it (tinyhtml5, the WHATWG tree
construction, so broken markup ends where a browser ends it), and the style the page gives
itself, its ``<style>`` blocks, the stylesheets it links and its inline ``style``
attributes, is applied to each element as the cascade applies it (tinycss2 reads the rules,
cssselect2 matches their selectors and gives their specificity): a number a visitor cannot
see is not shown, whichever of them hides it.

Nothing here fetches: a ``HomePage`` names the stylesheets it links, the worker fetches them
and hands their text back, each with where its redirects ended, to be judged with the page,
parsed once.

The check is split by what each part decides: ``stylesheets`` (which a page applies, and their
rules), ``cascade`` (their rules matched to elements), ``hiding`` (what keeps text from a
visitor), ``reading`` (the page read as a visitor sees it), ``verdict`` (what is wrong with the
footer) and ``page`` (``HomePage``, tying them together for the worker).
"""

from workflow.domain.footer.page import HomePage
from workflow.domain.footer.reading import MIIT_HOST, MIIT_URL
from workflow.domain.footer.stylesheets import Stylesheet, Wanted

__all__ = ["MIIT_HOST", "MIIT_URL", "HomePage", "Stylesheet", "Wanted"]
