from __future__ import annotations

import pytest

from trainer_client import SplitConfig, SplitError, split_completion


def answers(text: str, **options: object) -> list[str]:
    return split_completion(text, SplitConfig(**options)).answers  # type: ignore[arg-type]


def test_none_keeps_the_completion() -> None:
    assert answers("  whole thing ") == ["  whole thing "]


def test_tags_plain_and_numbered() -> None:
    text = "think... <response_1> a </response_1>\n<response_2>b</response_2><response_3>c</response_3>"
    assert answers(text, mode="tags", tag="response") == ["a", "b", "c"]
    assert answers("<answer>x</answer><ANSWER>y</ANSWER>", mode="tags") == ["x", "y"]
    # a closing tag must carry the opening tag's number; an unclosed tag is unparseable
    assert answers("<r_1>a</r_2><r_2>b</r_2><r_3>c", mode="tags", tag="r") == ["b"]
    assert answers("<answer></answer><answer> </answer>", mode="tags") == []


def test_max_answers_dedupe_and_padding_are_reported() -> None:
    text = "<answer>1</answer><answer> 1 </answer><answer>2</answer><answer>3</answer>"
    result = split_completion(text, SplitConfig(mode="tags", max_answers=3))
    assert result.answers == ["1", "2"]
    assert (result.num_parsed, result.num_unique, result.num_padded) == (4, 2, 1)
    kept = split_completion(text, SplitConfig(mode="tags", max_answers=3, dedupe=False, pad=False))
    assert kept.answers == ["1", "1", "2"] and kept.num_padded == 0
    empty = split_completion("no tags here", SplitConfig(mode="tags", max_answers=3))
    assert empty.answers == [] and empty.num_padded == 3


def test_code_blocks_in_the_papers_format() -> None:
    text = (
        "Reasoning first.\n```python\ndef f(x):\n    return x + 1\n```\n---\n"
        "```python\ndef f(x):  # the same program\n    return x+1\n```\n---\n"
        "```\ndef f(x):\n    return 2 * x\n```\n---\n```cpp\nint f(int x) { return x; }\n```\n```python\nunclosed"
    )
    result = split_completion(text, SplitConfig(mode="code_blocks", max_answers=4))
    assert result.answers == [
        "def f(x):\n    return x + 1",
        "def f(x):\n    return 2 * x",
        "int f(int x) { return x; }",
    ]
    assert result.num_parsed == 4 and result.num_unique == 3
    assert answers(text, mode="code_blocks", language="python", dedupe=False) == [
        "def f(x):\n    return x + 1",
        "def f(x):  # the same program\n    return x+1",
        "def f(x):\n    return 2 * x",
    ]


def test_a_language_keeps_the_blocks_tagged_with_its_aliases() -> None:
    text = "```js\nconsole.log(1)\n```\n---\n```py\nprint(1)\n```\n---\n```NodeJS\nconsole.log(2)\n```"
    assert answers(text, mode="code_blocks", language="javascript") == ["console.log(1)", "console.log(2)"]
    assert answers(text, mode="code_blocks", language="Python") == ["print(1)"]
    assert answers(text, mode="code_blocks", language="js") == ["console.log(1)", "console.log(2)"]
    assert answers(text, mode="code_blocks", language="cpp") == []


def test_code_of_another_language_is_not_deduped_by_pythons_syntax_tree() -> None:
    """To Python's parser a C++ ``#include`` is a comment: two different programs would share one tree."""
    text = "```cpp\n#include <cstdio>\nx = 1\n```\n---\n```cpp\n#include <vector>\nx = 1\n```"
    assert len(answers(text, mode="code_blocks", language="cpp")) == 2
    assert len(answers(text.replace("cpp", "python"), mode="code_blocks", language="python")) == 1


def test_long_code_dedupes_as_text() -> None:
    """Python's parser would hold about 200 bytes per character of a long expression: past 100,000 characters,
    code compares as text (the same program twice is still one answer)."""
    long = "a" + "+a" * 60_000
    text = f"```\n{long}\n```\n---\n```\n{long}\n```\n---\n```\n{long}  # note\n```"
    assert len(answers(text, mode="code_blocks")) == 2  # the comment makes a different text


def test_delimiter() -> None:
    assert answers("a --- b ---  --- a", mode="delimiter", delimiter="---") == ["a", "b"]


def test_bad_options() -> None:
    with pytest.raises(SplitError):
        SplitConfig(mode="regex")
    with pytest.raises(SplitError):
        SplitConfig(mode="delimiter")
    with pytest.raises(SplitError):
        SplitConfig(mode="tags", tag="<bad>")
    with pytest.raises(SplitError):
        SplitConfig(max_answers=0)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [
        ("tags", "<answer>" * 50_000, []),
        ("tags", "</answer>" * 50_000 + "<answer_1>" * 40_000 + "<answer>x</answer>", ["x"]),
        ("code_blocks", "```\n" + "x\n" * 100_000, []),
        ("code_blocks", "```" + " " * 200_000 + "x" + " " * 200_000 + "y\nbody\n```", ["body"]),
    ],
    ids=["unclosed-tags", "stray-closings", "unclosed-fence", "blank-fence-line"],
)
def test_hostile_completions_are_split(mode: str, text: str, expected: list[str]) -> None:
    """Inputs on which a backtracking regex would run for minutes (the timeout guards the linear scan)."""
    assert split_completion(text, SplitConfig(mode=mode)).answers == expected
