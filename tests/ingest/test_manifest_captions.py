"""Several captions per annotation: `texts` beside `text` at every level, validated at the edge."""

from __future__ import annotations

import json

import pytest

from cache_schema import caption_pool
from hierskp.extract.source import annotations_hash
from hierskp.ingest.manifest import ManifestError, load_manifest, write_manifest

from .conftest import GOOD_ROW as GOOD


def _write(tmp_path, row):
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path


def test_texts_at_every_level_are_read(tmp_path):
    row = {
        **GOOD,
        "texts": ["a thyroidectomy, open"],
        "operations": [{**GOOD["operations"][0], "texts": ["incision of the skin", "skin incision"]}],
        "frames": [{**GOOD["frames"][0], "texts": ["the skin is opened"]}],
    }
    entry = load_manifest(_write(tmp_path, row)).rows[0].entry
    assert entry.texts == ("a thyroidectomy, open",)
    assert caption_pool(entry.operations[0].text, entry.operations[0].texts) == (
        "skin incision",
        "incision of the skin",
    )
    assert entry.annotations()["frames"][0]["texts"] == ["the skin is opened"]


def test_caption_pool_primary_first_deduplicated():
    assert caption_pool("a", ["b", "a", "b", "c"]) == ("a", "b", "c")
    assert caption_pool("a") == ("a",)


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({**GOOD, "texts": ["ok", ""]}, 'line 1: field texts[1]: String should have at least 1 character (value "")'),
        ({**GOOD, "texts": "one string"}, 'field texts: Input should be a valid tuple (value "one string")'),
        (
            {**GOOD, "operations": [{**GOOD["operations"][0], "texts": [3]}]},
            "field operations[0].texts[0]: Input should be a valid string (value 3)",
        ),
        ({**GOOD, "frames": [{**GOOD["frames"][0], "texts": [None]}]}, "field frames[0].texts[0]"),
        ({**GOOD, "textz": ["x"]}, "did you mean 'text"),
    ],
)
def test_bad_texts_are_named(tmp_path, row, needle):
    path = _write(tmp_path, row)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_no_texts_keeps_annotations_and_their_hash(tmp_path):
    """A manifest without `texts` stores (and hashes) the annotations it stored before they existed,
    so caches extracted before do not re-embed; written manifests gain no empty `texts` keys."""
    entry = load_manifest(_write(tmp_path, GOOD)).rows[0].entry
    before = {k: v for k, v in GOOD.items()}
    before["operations"] = [{**GOOD["operations"][0], "start": 0.0, "end": 4.0}]
    assert entry.annotations() == before
    assert annotations_hash(entry.annotations()) == annotations_hash(before)
    out = write_manifest(tmp_path / "out.jsonl", [entry])
    assert "texts" not in out.read_text()
    changed = load_manifest(_write(tmp_path, {**GOOD, "texts": ["another caption"]})).rows[0].entry
    assert annotations_hash(changed.annotations()) != annotations_hash(entry.annotations())
