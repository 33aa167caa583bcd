"""Which code of an answer runs: the last fenced block in the test's language (or untagged), else the last
fenced block of any language, else the whole answer as written (raw code). Trailing whitespace is dropped,
so the same program fenced or raw is one program (and runs once)."""

from __future__ import annotations

from trainer_client.split import fenced_blocks, in_language


def extract_code(answer: str, language: str = "python") -> str:
    blocks = fenced_blocks(answer)
    if not blocks:
        return answer.rstrip() + "\n"
    matching = [body for info, body in blocks if in_language(info, language)]
    return (matching or [body for _, body in blocks])[-1].rstrip() + "\n"
