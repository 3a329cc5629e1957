"""The docs' results pages: generated from stamped JSON, honest where nothing is measured."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_results", REPO / "docs" / "generate_results.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_results", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_missing_measurements_render_as_not_measured(tmp_path):
    gen = _generator()
    for page in gen.PAGES:
        text = gen.render_page(page, tmp_path, head="0" * 40)
        assert "Not measured yet on this commit" in text and page.command in text


def test_committed_measurements_are_stamped_and_render(tmp_path):
    """Every committed data file belongs to a page, carries the commit and artifact digest it
    was measured on, and renders without falling back to 'not a layout this page can render'."""
    gen = _generator()
    names = {page.name: page for page in gen.PAGES}
    for path in sorted(gen.DATA.glob("*.json")):
        assert path.stem in names, f"{path.name} has no page in generate_results.PAGES"
        data = json.loads(path.read_text())
        stamp = data["_stamp"]
        assert len(stamp["commit"]) == 40 and stamp["artifact_digest"]
        text = gen.render_page(
            names[path.stem],
            gen.DATA,
            head=stamp["commit"],
            digest=stamp["artifact_digest"],
            noise_digest=stamp.get("noise_digest"),
        )
        assert "not one this page can render" not in text
        assert stamp["commit"][:12] in text and "earlier commit" not in text
        assert "has changed since" not in text
        moved = gen.render_page(
            names[path.stem], gen.DATA, head="f" * 40, digest="0" * 64, noise_digest="1" * 64
        )
        assert "earlier commit" in moved and "artifact has changed since" in moved
        # stamps from before the noise digest was recorded are not checked for it
        noise_moved = "noise model has changed since" in moved
        assert noise_moved == bool(stamp.get("noise_digest"))
        assert ("before noise digests were recorded" in moved) != noise_moved


def test_the_card_renders_from_json_as_from_the_artifact():
    """The surrogate card page and the README's card are one table, from one function."""
    spec = importlib.util.spec_from_file_location(
        "surrogate_card", REPO / "benchmarks" / "surrogate_card.py"
    )
    card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card)
    data = json.loads(json.dumps(card.card_data()))  # through JSON, as the docs read it
    assert card.render_table(data) == card.metrics_table()
