"""The caption pool of one annotation, shared by the writer (extraction) and the reader (the read model).

`caption_pool(text, texts)` = [text] + texts, duplicates dropped, primary first: the order in which a
node's captions are embedded into the cache and the order in which a reader finds them again.
"""

from __future__ import annotations


def caption_pool(text: str, texts: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The captions of one annotation: the primary `text` first, then its `texts`, duplicates dropped."""
    return tuple(dict.fromkeys([text, *texts]))
