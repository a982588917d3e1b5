"""`hierskp serve`: the in-process query time of the web app, against a `hierskp search` process per query.

    python bench/bench_serve.py [--videos 112 1000] [--rounds 5] [--out bench/out/serve]

Per size: a synthetic cache (tests/fixtures/synthetic_cache.py: ~437 frames a video at 1 fps, 256-d vision,
texts embedded by the bundled MiniLM), a run trained a few steps on it (query cost does not depend on
training), then, with the index already built in the server's state folder:
* `GET /api/search` on a real uvicorn server on 127.0.0.1 (HTTP, JSON, the per-query staleness check:
  a new `SearchLibrary` over a freshly opened cache, which lists every video and loads the index);
* `ServeLibrary.search` in process (the same without HTTP);
* a kept `SearchLibrary` (no staleness check: the floor);
* the baseline: one `hierskp search` process per query (start-up, torch, MiniLM, index load).
Median of `--rounds` queries each (different texts). Writes OUT/serve.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERIES = ["the surgeon performs incision", "now comes the closure", "dissection", "hemostasis with suction",
           "mesh placement", "ligation of the vessel", "resection", "exposure"]  # fmt: skip


def median_s(fn, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    times = []
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class HashedTexts:
    """Stands in for MiniLM while a large synthetic cache is written (~19 texts a video would take MiniLM
    most of an hour at 1,000 videos on 2 busy cores): a fixed random unit vector per text, recorded under
    MiniLM's fingerprint so the run embeds queries with the real MiniLM. Timing only: the texts' meaning is lost."""

    def __init__(self, enc):  # type: ignore[no-untyped-def]
        self.dim, self.fingerprint = int(enc.dim), enc.fingerprint

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        import zlib

        import numpy as np
        import torch

        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]
        x = np.asarray(rows, dtype=np.float32)
        return torch.from_numpy(x / np.linalg.norm(x, axis=1, keepdims=True))


def prepare(root: Path, n: int, enc, hashed_above: int) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    from hierskp.train import load_config, train
    from tests.fixtures.synthetic_cache import make_synthetic_cache

    cache, run = root / f"cache_{n}.zarr", root / f"run_{n}"
    if not (cache / "zarr.json").exists():
        texts = HashedTexts(enc) if n > hashed_above else enc
        make_synthetic_cache(cache, n_videos=n, seed=0, vision_dim=256, op_frames=(50, 95), text_encoder=texts)
    if not (run / "final").is_dir():
        fast = ["model.hidden_dim=64", "model.embed_dim=64", "max_steps=5", "evaluate=false", "checkpoint_every=1000"]
        train(load_config(None, fast, cache=str(cache), out=str(run), progress=False))
    return cache, run


def serve_in_thread(library, port: int):  # type: ignore[no-untyped-def]
    import uvicorn

    from hierskp.serve.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(library), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def measure(root: Path, n: int, rounds: int, enc, port: int, hashed_above: int, cli: bool) -> dict:  # type: ignore[no-untyped-def]
    from cache_schema import open_cache
    from hierskp.search.library import SearchLibrary
    from hierskp.serve.library import ServeLibrary

    cache, run = prepare(root, n, enc, hashed_above)
    state = root / f"state_{n}"
    lib = ServeLibrary(run, str(cache), state_dir=state)
    t0 = time.perf_counter()
    first = lib.search("warm up", "moment", None, 10)
    build_s = time.perf_counter() - t0
    texts = QUERIES[:rounds]
    in_process = median_s(lambda q: lib.search(q, "moment", None, 10), texts)
    kept = SearchLibrary(lib.model, open_cache(str(cache), "r"), index_dir=lib.index_dir)
    kept.search("warm up", k=10)
    floor = median_s(lambda q: kept.search(q, k=10), texts)
    assert kept.embedded_rows == 0, "the kept library rebuilt its index"
    server = serve_in_thread(lib, port)

    def http(q: str) -> None:
        url = f"http://127.0.0.1:{port}/api/search?" + urllib.parse.urlencode({"q": q, "k": 10})
        with urllib.request.urlopen(url, timeout=300) as r:
            body = json.loads(r.read())
        assert body["hits"] and body["index"]["embedded_rows"] == 0, body["index"]

    http_s = median_s(http, texts)
    server.should_exit = True
    cmd = [sys.executable, "-m", "hierskp", "search", "--run", str(run), "--cache", str(cache), "--json", "-k", "10"]
    cmd += ["--index-dir", str(lib.index_dir)]
    cli_s = median_s(lambda q: subprocess.run([*cmd, q], check=True, capture_output=True), texts[:2]) if cli else None
    return {
        "videos": n,
        "cache_texts": "hashed" if n > hashed_above else "MiniLM",
        "moments": first["index"]["rows"],
        "first_query_build_s": round(build_s, 3),
        "http_api_s": round(http_s, 4),
        "in_process_s": round(in_process, 4),
        "kept_library_s": round(floor, 4),
        "cli_process_s": round(cli_s, 3) if cli_s else None,
        "http_vs_cli": round(http_s / cli_s, 4) if cli_s else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, nargs="+", default=[112, 1000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "serve"))
    ap.add_argument("--port", type=int, default=8911)
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI baseline")
    ap.add_argument("--hashed-texts-above", type=int, default=200, help="larger caches get HashedTexts")
    args = ap.parse_args()
    import torch

    from hierskp.backbones import load_text_encoder

    torch.set_num_threads(1)  # as `hierskp serve` (--threads 1) and `hierskp search` run
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    enc = load_text_encoder("default", device="cpu")
    rows = []
    for i, n in enumerate(args.videos):
        rows.append(measure(out, n, args.rounds, enc, args.port + i, args.hashed_texts_above, not args.no_cli))
        print(json.dumps(rows[-1]), flush=True)
    (out / "serve.json").write_text(json.dumps(rows, indent=1))
    print(f"{'videos':>7s} {'moments':>8s} {'HTTP':>8s} {'in-proc':>8s} {'kept':>8s} {'CLI':>7s} {'HTTP/CLI':>9s}")
    for r in rows:
        print(f"{r['videos']:7d} {r['moments']:8d} {r['http_api_s']:8.3f} {r['in_process_s']:8.3f} "
              f"{r['kept_library_s']:8.3f} {r['cli_process_s']} {r['http_vs_cli']}")  # fmt: skip


if __name__ == "__main__":
    main()
