"""Where claims sit in an article: quotes, sentences, code blocks, and token equality of code.

Scraped articles lose whitespace and indentation and split lines anywhere, so every comparison here is
whitespace-normalized (quotes) or token-based (code): a claims file re-indents the article's code by hand, and
:func:`same_tokens` proves the re-indented snippet is still exactly the article's code.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Iterable

_WS = re.compile(r"\s+")
_ASCII_CODE_START = re.compile(r"^(import |from \w|def |class |@|[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_]\w*)*\s*=[^=]|print\()")
_IGNORED_TOKENS = {tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER,
                   tokenize.ENCODING}


def normalize(text: str) -> tuple[str, list[int]]:
    """Text with all whitespace removed, and for each kept character its offset in the original.

    Removing (not collapsing) whitespace is deliberate: the scrape inserts line breaks inside Japanese sentences
    and next to inline code, and Japanese has no word spaces to preserve.
    """
    chars, offsets = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch)
            offsets.append(i)
    return "".join(chars), offsets


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


@dataclasses.dataclass(frozen=True)
class Location:
    offset: int
    line: int
    span: tuple[int, int] = (-1, -1)
    """Start and end of the quote in the whitespace-normalized text (what coverage compares)."""


def find_quotes(text: str, quote: str) -> list[Location]:
    """Every (non-overlapping) place ``quote`` occurs in ``text`` ignoring whitespace, in order."""
    norm_text, offsets = normalize(text)
    norm_quote, _ = normalize(quote)
    if not norm_quote:
        return []
    found, pos = [], norm_text.find(norm_quote)
    while pos >= 0:
        found.append(Location(offsets[pos], line_of(text, offsets[pos]), (pos, pos + len(norm_quote))))
        pos = norm_text.find(norm_quote, pos + len(norm_quote))
    return found


def find_quote(text: str, quote: str, occurrence: int = 1) -> Location | None:
    """Where the ``occurrence``-th (1-based) occurrence of ``quote`` is in ``text`` ignoring whitespace, or None."""
    found = find_quotes(text, quote)
    return found[occurrence - 1] if 1 <= occurrence <= len(found) else None


@dataclasses.dataclass(frozen=True)
class CodeBlock:
    start_line: int
    end_line: int
    code: str


def _fenced_blocks(text: str) -> list[CodeBlock]:
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith("```"):
                j += 1
            blocks.append(CodeBlock(i + 2, j, "\n".join(lines[i + 1:j]) + "\n"))
            i = j + 1
        else:
            i += 1
    return blocks


def _is_code_line(line: str) -> bool:
    return line.isascii() and bool(line.strip()) and ("(" in line or "=" in line or line.rstrip().endswith(":")
                                                     or line.startswith(("import ", "return ", "else")))


def code_blocks(text: str) -> list[CodeBlock]:
    """The article's code blocks: fenced Markdown blocks, or for scraped text runs of code-like ASCII lines.

    A scraped run starts at a line that opens a statement (import/def/assignment/print) and continues over ASCII
    lines that look like code; runs of fewer than 3 lines are inline code split out of prose, not blocks.
    """
    if "```" in text:
        return _fenced_blocks(text)
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].isascii() and _ASCII_CODE_START.match(lines[i]):
            j = i
            while j < len(lines) and _is_code_line(lines[j]):
                j += 1
            if j - i >= 3:
                blocks.append(CodeBlock(i + 1, j, "\n".join(lines[i:j]) + "\n"))
                i = j
                continue
        i += 1
    return blocks


def tokens(code: str) -> list[tuple[int, str]]:
    """Significant tokens of ``code``: layout (indentation, newlines) ignored, comments kept, stripped.

    Each line is tokenized with its leading whitespace removed, so the article's flattened code and a
    re-indented copy produce the same stream exactly when only layout differs.
    """
    flat = "\n".join(line.strip() for line in code.splitlines()) + "\n"
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(flat).readline):
        if tok.type in _IGNORED_TOKENS:
            continue
        out.append((tok.type, tok.string.strip()))
    return out


def same_tokens(a: str, b: str) -> bool:
    """True when two pieces of code differ only in layout."""
    try:
        return tokens(a) == tokens(b)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False


def find_block(text: str, code: str) -> CodeBlock | None:
    """The article block whose tokens equal ``code``'s, or None."""
    for block in code_blocks(text):
        if same_tokens(block.code, code):
            return block
    return None


_STATEMENT_END = re.compile(r"(?:[。.!！]|です|ます)$")
_QUESTION_END = ("?", "?")
_PRESUPPOSING_QUESTION = re.compile(
    r"^(?:なぜ|どうして)|(?:ではない|じゃない)(?:でしょう|の)?か[??]$"
    r"|^(?:why|how come)\b|^(?:isn't|aren't|doesn't|don't|can't|wasn't|won't)\b", re.IGNORECASE)
"""A question that asserts: "why does jvp return the gradient?" presupposes that it does; a negative rhetorical
question ("isn't X faster?", "X ではないでしょうか?") states X.  Other questions ask and assert nothing."""
_SELF_REFERENCE = re.compile(r"本記事|この記事|本稿|本ページ|\b[Tt]his (?:article|post|note|page)\b")
_FORWARD_REFERENCE = re.compile(r"以下|次の|\b(?:the following|below|as follows)\b", re.IGNORECASE)
_ASSERTION = re.compile(
    r"計算|微分|返し|返す|格納|適用|表し|異なり|違い|導入|実行|出力|等し|一致"
    r"|\b(?:computes?|returns?|stores?|holds?|differs?|unlike|equals?|prints?)\b", re.IGNORECASE)


def sentences(text: str, skip_lines: Iterable[tuple[int, int]] = ()) -> list[tuple[int, str]]:
    """Prose sentences with their first line, outside the given code-block line ranges.

    Lines are joined without separators first (the scrape split sentences at inline code), then split at
    Japanese/Western sentence ends; bullet markers ``- `` start a new sentence.  A line that ends in a non-ASCII
    character other than a sentence end closes its block: the scrape breaks a sentence only next to inline code
    (ASCII), so such a line is a heading or a label (``例 3: Hessian 行列の計算``), not the first half of the next
    sentence.
    """
    skip = set()
    for start, end in skip_lines:
        skip.update(range(start, end + 1))
    buf: list[tuple[int, str]] = []
    out: list[tuple[int, str]] = []

    def flush() -> None:
        if buf:
            joined = "".join(part for _, part in buf).strip()
            for piece in re.split(r"(?<=[。!?!?])|(?<=[.!?])\s+|\s+-\s+", joined):
                piece = piece.strip(" -")
                if piece:
                    out.append((buf[0][0], piece))
            buf.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if number in skip or not line.strip():
            flush()
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped.startswith("#"):
            flush()
        buf.append((number, stripped if not buf else (" " + stripped if stripped.isascii() else stripped)))
        if re.search(r"[。!?!?]$", stripped) or number == 1 or not stripped[-1].isascii():
            flush()
    flush()
    return out


_CLAUSE_END = re.compile(r"(?<=[^\s、]し、)|(?<=ますが、)|(?<=ですが、)|(?<=であり、)|(?<=;)\s*|(?<=[a-z]),\s+and\s+")


def assertions(sentence: str) -> list[str]:
    """The assertions of one sentence: clauses joined by a conjunction each assert on their own.

    Japanese joins assertions with the continuative し、 ("computes X, and stores Y"), and with が、 after a
    polite ending ("is stored, but is None here"); English with "; " and ", and ".  A conditional (すると、) or a
    means (使用して、) does not split: it qualifies the one assertion that follows.  Each piece must be quoted by
    some claim for the sentence to be covered whole, so a quote trimmed to the true half of a sentence leaves the
    other half listed as uncovered.
    """
    return [p.strip() for p in _CLAUSE_END.split(sentence) if p and p.strip()]


def is_checkable(sentence: str) -> bool:
    """A sentence that asserts something a reader would want checked; coverage counts exactly these.

    Rule (in this order):

    1. It must end like a statement: 。 . ! or a です/ます ending; text without a sentence end is a heading, a
       title fragment or a label ending in a colon, which names or introduces what follows.  A question (? ?)
       asks rather than asserts, unless it presupposes or states something: "why ..." (なぜ, どうして) takes the
       premise as given, and a negative rhetorical question ("isn't X ...?", "...ではないでしょうか?") states X.
    2. It must not be only about the text itself: a sentence whose subject is the article (本記事, この記事, 本稿,
       "this article") describes the article's plan, unless it also asserts a computation or result (rule 3's
       markers), e.g. "this article shows that jvp returns the gradient".
    3. It must not be a pure forward reference: a sentence that points at what follows (以下, 次の, "the
       following", "below") defers its content to that text, where it is counted (the list items, the example and
       the sentences about it).  It still counts when it asserts something of its own besides the pointer: a
       computation or a result (計算, 微分, 返し, 格納, 適用, 表し, 出力, "computes", "returns", ...) or a
       comparison (異なり, 違い, "unlike"), e.g. "以下の例は、X を使用して勾配を計算する方法を示しています"
       asserts what the example computes, "従来の AD とは異なり、以下の点が特徴です" asserts a difference.

    Everything else that ends like a statement counts, characterizations and advice included: each needs a claim
    (an ``advice`` claim is unverifiable, which the report shows), so a sentence cannot drop out of coverage just
    because running code cannot decide it.
    """
    s = sentence.strip()
    if s.endswith(_QUESTION_END):
        return bool(_PRESUPPOSING_QUESTION.search(s.split(":")[-1].split(":")[-1].strip()))
    if not _STATEMENT_END.search(s):
        return False
    if (_SELF_REFERENCE.search(s) or _FORWARD_REFERENCE.search(s)) and not _ASSERTION.search(s):
        return False
    return True
