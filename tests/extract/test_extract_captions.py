"""Extraction embeds the extra captions (`texts`) and notices when they change."""

from __future__ import annotations

import json

import numpy as np

import cache_schema as cs
from cache_schema import caption_pool
from hierskp.backbones.text import load_text_encoder
from hierskp.extract import ExtractConfig, extract_manifest
from hierskp.ingest.manifest import load_manifest


def _extract(manifest, cache):
    summary = extract_manifest(ExtractConfig(manifest=str(manifest), cache=str(cache)), progress=False)
    d = summary.as_dict()
    return d["done"], d["skipped"], d["failed"]


def test_extra_captions_are_embedded_and_a_changed_list_is_re_embedded(corpus_copy, tmp_path):
    manifest, cache = corpus_copy / "manifest.jsonl", tmp_path / "cache.zarr"
    rows = load_manifest(manifest).rows
    with_texts = [r.entry for r in rows if r.entry.texts]
    assert with_texts and any(not r.entry.texts for r in rows)  # the synth corpus: train videos only
    assert _extract(manifest, cache)[2] == 0
    store = cs.open_cache(str(cache))
    encoder = load_text_encoder(device="cpu")  # the default text backbone, the one extract used
    entry = with_texts[0]
    rec = store.read_video(entry.video_id)
    assert rec.has_alt_texts()
    for level, nodes in (("video", [entry]), ("operations", entry.operations), ("narrations", entry.frames)):
        emb, owner = rec.alt_texts(level)
        expect = [(i, t) for i, n in enumerate(nodes) for t in caption_pool(n.text, n.texts)[1:]]
        assert owner.tolist() == [i for i, _ in expect]
        if expect:
            want = encoder.encode([t for _, t in expect]).float().numpy()
            np.testing.assert_allclose(emb, want, atol=1e-5)
    plain = next(r.entry for r in rows if not r.entry.texts)
    assert not store.read_video(plain.video_id).has_alt_texts()  # no extra captions: the minor-0 layout

    # one operation's texts list changes (the primary text does not): only that video's texts are redone
    lines = manifest.read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if json.loads(line)["video_id"] == entry.video_id)
    row = json.loads(lines[idx])
    row["operations"][0]["texts"] = ["a new paraphrase of the first step"]
    lines[idx] = json.dumps(row)
    manifest.write_text("\n".join(lines) + "\n")
    assert _extract(manifest, cache) == (1, len(rows) - 1, 0)
    rec = cs.open_cache(str(cache)).read_video(entry.video_id)
    emb, owner = rec.alt_texts("operations")
    assert owner[0] == 0 and int((owner == 0).sum()) == 1
    np.testing.assert_allclose(
        emb[0], encoder.encode(["a new paraphrase of the first step"]).float().numpy()[0], atol=1e-5
    )
    assert rec.annotations["operations"][0]["texts"] == ["a new paraphrase of the first step"]
    assert rec.completion.get("texts_updated_at")  # the frames were kept
