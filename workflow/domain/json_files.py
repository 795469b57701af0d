"""The one reader of the JSON files people hand the CLI: a filing's or an order's body
(``--file``) and a year's holiday schedule. Typed by hand or saved by an editor, they are read
the same way, and refused in the same words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workflow.domain.errors import Reason, ValidationError


def read_json(path: Path) -> Any:
    """The JSON value ``path`` holds, or a ``ValidationError`` naming the file and what is wrong.

    A UTF-8 byte order mark, which Windows editors write first, is skipped, as a CSV import
    skips it: the file is UTF-8 all the same. Arrays or objects nested deeper than the parser
    recurses are refused as unreadable (the API answers such a body 400): no body or schedule
    nests more than a few levels. An ``OSError`` is left to the caller, which knows what the
    file was for."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        reason = Reason("bad_encoding", f"not UTF-8 text: {exc.reason} at byte {exc.start}")
    except json.JSONDecodeError as exc:
        reason = Reason("bad_json", f"not valid JSON: {exc}")
    except RecursionError:
        reason = Reason("bad_json", "nested too deeply to read")
    raise ValidationError(f"{path} cannot be read", [reason])
