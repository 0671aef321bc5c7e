"""The README and docs/: every relative link resolves, every `python -m textclf <stage>` they
name is a command, every command has its line in docs/command-line.md, and the README stays a
front page (at most 250 lines). Each checker is tried on a small bad example first."""

import argparse
import re
from pathlib import Path

from conftest import REPO

README_LIMIT = 250
EXTERNAL = ("http://", "https://", "mailto:")
# [text](target) and ![alt](target), an optional "title" after the target; [ref]: target
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
# `python -m textclf train`, `torchrun ... -m textclf train`, `.venv/bin/textclf train`
COMMAND = re.compile(r"(?:-m\s+textclf|bin/textclf)\s+([^\s`'\"|)\]]+)")


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def without_code(text: str) -> str:
    """The text with fenced code blocks and inline code left out: links there are not links."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def relative_links(text: str) -> list[str]:
    """Every link target of a markdown text that names a file: not a web or mail address, not
    an anchor of the page itself."""
    prose = without_code(text)
    targets = INLINE_LINK.findall(prose) + REFERENCE.findall(prose)
    return [t for t in targets if not t.startswith(EXTERNAL) and not t.startswith("#")]


def broken_links(path: Path) -> list[str]:
    """The relative links of a markdown file that name no file or folder (from the file's
    folder; a #fragment is not checked)."""
    return [
        target
        for target in relative_links(path.read_text())
        if not (path.parent / target.split("#")[0]).exists()
    ]


def named_commands(text: str) -> list[str]:
    """The stage of every `python -m textclf <stage>` in a text (code included); options
    (`--help`) and placeholders (`<stage>`, `...`) name none."""
    return [word for word in COMMAND.findall(text) if re.match(r"[a-z]", word)]


def commands() -> set[str]:
    """The command line's stages, from its parser."""
    from textclf.cli import parser

    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("textclf.cli.parser() has no subcommands")


def over_limit(text: str, limit: int = README_LIMIT) -> bool:
    return len(text.splitlines()) > limit


def test_the_link_checker_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B\n")
    (tmp_path / "img.png").write_bytes(b"")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](docs/b.md) [folder](docs) [section](docs/b.md#b) ![image](img.png)\n"
        '[titled](docs/b.md "B") [web](https://example.org/x.md) [mail](mailto:a@b.c)\n'
        "[here](#top) [missing](docs/missing.md) ![gone](pictures/x.png)\n"
        "[gone section](nowhere.md#part)\n"
        "[ref]: docs/b.md\n[bad ref]: absent.md\n"
        "`[not a link](absent-inline.md)`\n"
        "```\n[not a link either](absent-block.md)\n```\n"
    )
    assert broken_links(page) == [
        "docs/missing.md",
        "pictures/x.png",
        "nowhere.md#part",
        "absent.md",
    ]


def test_every_relative_link_resolves():
    assert (REPO / "docs" / "report_training.png").exists()
    for page in pages():
        assert broken_links(page) == [], page.relative_to(REPO)


def test_the_command_finder_sees_every_named_stage():
    text = (
        "```bash\n.venv/bin/python -m textclf train --experiment demo\n"
        "torchrun --nproc-per-node 4 -m textclf finetune\n"
        ".venv/bin/python -m textclf --help\n```\n"
        "Run `python -m textclf trian` (a typo), `python -m textclf <stage>` or "
        "`python -m textclf ...`; `python -m textclf.config` is another module; "
        "`.venv/bin/textclf predikt`, `.venv/bin/textclf`.\n"
    )
    named = named_commands(text)
    assert named == ["train", "finetune", "trian", "predikt"]
    assert [c for c in named if c not in commands()] == ["trian", "predikt"]


def test_every_named_command_exists():
    known = commands()
    assert {"prepare", "train", "predict"} <= known
    for page in pages():
        unknown = [c for c in named_commands(page.read_text()) if c not in known]
        assert unknown == [], page.relative_to(REPO)


def test_every_command_is_in_the_command_line_page():
    documented = set(named_commands((REPO / "docs" / "command-line.md").read_text()))
    assert commands() - documented == set()


def test_the_line_limit_is_checked():
    assert over_limit("line\n" * (README_LIMIT + 1))
    assert not over_limit("line\n" * README_LIMIT)


def test_the_readme_is_a_front_page():
    text = (REPO / "README.md").read_text()
    assert not over_limit(text), f"README.md: {len(text.splitlines())} lines"
