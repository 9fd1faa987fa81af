"""``python -m conformance check-article ARTICLE CLAIMS``: registered here, run by :mod:`conformance.claims.article.cli`.

The article checker is imported when the parser is built, as before; where it cannot be (an install without
it), the command is still listed and says so (exit 2).
"""

from __future__ import annotations

import argparse

from conformance.commands.registry import command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from conformance.claims.article import cli as article_cli
    except ImportError:
        return  # main says the checker is not installed
    article_cli.add_arguments(parser)


@command("check-article", help="check an article's claims file on every backend", arguments=add_arguments)
def main(args: argparse.Namespace) -> int:
    try:
        from conformance.claims.article import cli as article_cli
    except ImportError:
        print("the article checker is not installed")
        return 2
    return article_cli.main(args)
