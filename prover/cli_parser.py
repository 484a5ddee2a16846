"""The argument parser every `prove` command is built with: argparse (the standard library's;
click cost more start-up than `prove check` can spare, see docs/architecture.md), reading the
words as `prove` always has, with the argument types its options use. `cli.py` puts the commands
together; each command's options are declared next to its function."""
from __future__ import annotations

import argparse
import os
import sys

from .cli_common import COLORS, STDIN


class Parser(argparse.ArgumentParser):
    """An argparse parser that reads the words the way `prove` always has (with click):

    - an option that takes a value takes the next word, whatever it looks like (`--var -x`);
    - options and arguments mix in any order (`prove check a.yaml --strict b.yaml`);
    - with `loose=True` (derive, equiv), a word that starts with '-' but is no option of the
      command is an argument: an expression such as `-X` (`--` works as well);
    - long options are never abbreviated (`--form` is not `--format`).

    It does so by rewriting the words before argparse sees them: every option first, spelled
    `--name=value`, then `--` and the arguments."""

    def __init__(self, *args, loose: bool = False, **kwargs):
        self.loose = loose
        self.valued: dict[str, str] = {}  # option -> its spelling for `--name=value`
        self.flags: set[str] = set()  # options that take no value
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # adds -h/--help, through add_argument

    def add_argument(self, *names, **kwargs):
        action = super().add_argument(*names, **kwargs)
        if names and names[0].startswith("-"):
            if action.nargs == 0:
                self.flags.update(action.option_strings)
            else:
                spelling = max(action.option_strings, key=len)
                self.valued.update(dict.fromkeys(action.option_strings, spelling))
        return action

    def parse_args(self, args=None, namespace=None):
        words = sys.argv[1:] if args is None else list(args)
        options, arguments, unknown = self.sort(words)
        if unknown:  # before argparse, which would first complain of a missing argument
            self.error("no such option: " + " ".join(unknown))
        ns, extra = self.parse_known_args(options + (["--", *arguments] if arguments else []),
                                          namespace)
        if "--" in extra:
            extra.remove("--")
        if extra:
            self.error(f"unexpected extra argument{'s' * (len(extra) > 1)}: " + " ".join(extra))
        return ns

    def sort(self, words: list[str]) -> tuple[list[str], list[str], list[str]]:
        """The words as (options, spelled `--name=value`; arguments; unknown options)."""
        options: list[str] = []
        arguments: list[str] = []
        unknown: list[str] = []
        rest = iter(words)
        for word in rest:
            name, eq, value = word.partition("=")
            if word == "--":
                arguments.extend(rest)
                break
            if word == STDIN or not word.startswith("-"):
                arguments.append(word)
            elif word in self.flags:
                options.append(word)
            elif word in self.valued:
                following = next(rest, None)
                options.append(word if following is None else f"{self.valued[word]}={following}")
            elif eq and name.startswith("--") and name in self.valued | dict.fromkeys(self.flags):
                options.append(word)  # a flag given a value: argparse says it takes none
            elif not word.startswith("--") and word[:2] in self.valued:  # -j4, -o-
                options.append(f"{self.valued[word[:2]]}={word[2:]}")
            elif self.loose:
                arguments.append(word)
            else:
                unknown.append(word)
        return options, arguments, unknown


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, but paragraphs in a description or epilog stay paragraphs."""

    def _fill_text(self, text, width, indent):
        return "\n\n".join(super(HelpFormatter, self)._fill_text(p, width, indent)
                           for p in text.strip().split("\n\n"))


def _in_range(kind: type, what: str, low, high):
    """An argparse type: `kind(text)` within [low, high] (NaN is never within)."""
    def convert(text: str):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= x <= high:
            raise argparse.ArgumentTypeError(f"{text} is not in the range {low:g}<=x<={high:g}")
        return x

    return convert


def int_range(low: int, high: int):
    return _in_range(int, "a whole number", low, high)


def float_range(low: float, high: float):
    return _in_range(float, "a number", low, high)


def path(file_okay: bool = True, dir_okay: bool = True, allow_dash: bool = False,
         exists: bool = False):
    """A path; it need not exist (unless `exists`: a folder of lemmas, say), but when it does it
    must be of the kind the option wants."""

    def convert(text: str) -> str:
        if allow_dash and text == STDIN:
            return text
        if exists and not text:
            raise argparse.ArgumentTypeError("an empty path names nothing")
        if exists and not os.path.exists(text):
            raise argparse.ArgumentTypeError(f"{text!r}: no such file or folder")
        if exists and os.path.exists(text) and not (os.path.isdir(text) or os.path.isfile(text)):
            raise argparse.ArgumentTypeError(f"{text!r} is not a file or a folder")
        if not dir_okay and os.path.isdir(text):
            raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
        if not file_okay and os.path.exists(text) and not os.path.isdir(text):
            raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
        if os.path.exists(text) and not os.access(text, os.R_OK):
            raise argparse.ArgumentTypeError(f"{text!r} is not readable")
        return text

    return convert


def add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=COLORS, default="auto",
                        help="Colour the text output: auto is on a terminal unless NO_COLOR is "
                        "set. [default: auto]")
