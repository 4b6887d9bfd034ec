"""Every shipped scenario file is listed in docs/scenarios.md (the FoIP ones may be listed in
scenarios/foip/README.md instead, which the docs then link)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
FOIP_README = REPO / "scenarios" / "foip" / "README.md"
SHIPPED = sorted(path.relative_to(REPO).as_posix()
                 for path in (REPO / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED)
def test_every_shipped_scenario_is_listed(path: str) -> None:
    listed = f"`{path}`" in DOC
    if not listed and path.startswith("scenarios/foip/") and FOIP_README.is_file():
        listed = Path(path).name in FOIP_README.read_text(encoding="utf-8")
    assert listed, f"{path} is not listed in docs/scenarios.md"


def test_the_foip_table_is_linked_when_there_is_one() -> None:
    assert any(path.startswith("scenarios/foip/") for path in SHIPPED)
    if FOIP_README.is_file():
        assert "scenarios/foip/README.md" in DOC
