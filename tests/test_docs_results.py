"""The docs' results pages: generated from stamped JSON, honest where nothing is measured."""

from __future__ import annotations

import json

from _scripts import load_script


def _generator():
    return load_script("docs/generate_results.py")


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


def test_landscapes_from_absorbed_walks_are_flagged():
    """A fidelity file whose walk autocorrelations do not say how many pairs they pool was
    measured with walks that the cell without neighbours absorbed; its page says so."""
    gen = _generator()

    def report(walk: dict) -> dict:
        landscape = {"table": {"walk_autocorr_1": walk}, "inside": 4}
        study = {"name": "fold 1/3", "surrogates": {"default": {"landscape": landscape}}}
        return {"config": {}, "tracks": {"multifidelity": {"studies": [study]}}}

    old = report({"value": 0.6, "ci_low": 0.5, "ci_high": 0.7})
    new = report({"value": 0.4, "ci_low": 0.3, "ci_high": 0.5, "pairs": 4900})
    assert gen.absorbed_walks(old) and not gen.absorbed_walks(new)
    assert not gen.absorbed_walks({"config": {}, "tracks": {}})  # no landscape: nothing to say
    flag = "went on from a fresh cell"
    assert flag in "\n".join(gen.render_fidelity(old))
    assert flag not in "\n".join(gen.render_fidelity(new))


def test_the_card_renders_from_json_as_from_the_artifact():
    """The surrogate card page and the README's card are one table, from one function."""
    card = load_script("benchmarks/surrogate_card.py")
    data = json.loads(json.dumps(card.card_data()))  # through JSON, as the docs read it
    assert card.render_table(data) == card.metrics_table()
