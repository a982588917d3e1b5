"""The library search: free text over a cache's videos with a trained run, its rows, its bounds.

The search defaults live here, with no import, so that `hierskp search --server` and `--help` start without
torch."""

SEARCH_LEVELS: tuple[str, ...] = ("moment", "video", "operation")
DEFAULT_WINDOW_S = 4.0  # chosen on the demo val split (bench/README.md "Search")
DEFAULT_STRIDE_S = 2.0
