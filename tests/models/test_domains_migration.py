"""Migration 0014 folds the domains stored before into the one spelling new input takes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from models.migrate import upgrade
from tests.models.test_orders_migration import FILING

TYPED = {
    1: ("ｅｘａｍｐｌｅ.cn", "example.cn"),
    2: ("shop。example2.cn", "shop.example2.cn"),
    3: ("Trailing.CN.", "trailing.cn"),
    4: ("xn--fsqu00a.xn--fiqs8s", "例子.中国"),
    5: ("plain.cn", "plain.cn"),
}


@pytest.fixture
def migrated(blank_url: str) -> Iterator[sa.Engine]:
    """Orders typed in five spellings at 0005, their services made from them, upgraded to 0014."""
    upgrade(blank_url, "0005")
    engine = sa.create_engine(blank_url)
    rows = [
        {
            "id": n, "domain": typed, "name": f"Org {n}", "phone": f"1380013800{n}",
            "state": "approved", "icp": f"京ICP备202600012{n}号-1",
        }
        for n, (typed, _) in TYPED.items()
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.text(FILING), rows)
    upgrade(blank_url, "0014")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("table", ["filings", "services"])
def test_every_stored_domain_is_folded_into_its_canonical_spelling(
    migrated: sa.Engine, table: str
) -> None:
    query = (
        "SELECT domain FROM filings ORDER BY id"
        if table == "filings"
        else ("SELECT s.domain FROM services s JOIN filings f ON f.service_id = s.id ORDER BY f.id")
    )
    with migrated.connect() as conn:
        stored = conn.execute(sa.text(query)).scalars().all()
    assert stored == [canonical for _, canonical in TYPED.values()]
