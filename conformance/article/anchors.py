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


def find_quote(text: str, quote: str) -> Location | None:
    """Where ``quote`` occurs in ``text`` ignoring whitespace, or None."""
    norm_text, offsets = normalize(text)
    norm_quote, _ = normalize(quote)
    if not norm_quote:
        return None
    pos = norm_text.find(norm_quote)
    if pos < 0:
        return None
    return Location(offsets[pos], line_of(text, offsets[pos]))


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


_SENTENCE_END = re.compile(r"(?<=[。!?!?])|(?<=\.)\s")
_CHECKABLE = re.compile(
    r"[A-Za-z_]+\.[A-Za-z_]|\w+\(\)|\d|(?:hessian|jvp|vmap|scan|grad|has_aux|aux|autograd|JAX|PyTorch|Hessian)"
    r"|(?:できます|します|返します|表します|導入され|計算|役立ちます|動作します|最も)",
)


def sentences(text: str, skip_lines: Iterable[tuple[int, int]] = ()) -> list[tuple[int, str]]:
    """Prose sentences with their first line, outside the given code-block line ranges.

    Lines are joined without separators first (the scrape split sentences at inline code), then split at
    Japanese/Western sentence ends; bullet markers ``- `` start a new sentence.
    """
    skip = set()
    for start, end in skip_lines:
        skip.update(range(start, end + 1))
    buf: list[tuple[int, str]] = []
    out: list[tuple[int, str]] = []

    def flush() -> None:
        if buf:
            joined = "".join(part for _, part in buf).strip()
            for piece in re.split(r"(?<=[。!?!?])|\s+-\s+", joined):
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
        if re.search(r"[。!?!?]$", stripped) or (number == 1):
            flush()
    flush()
    return out


def is_checkable(sentence: str) -> bool:
    """A sentence that states something a run could confirm or refute.

    Rule: it ends like a statement (not a question or a heading) and names an API or code identifier, a number,
    or uses a declarative verb of capability/result (できます, 返します, 表します, 導入され, 動作します, 最も...).
    Questions (?) and short headings (no sentence end) are not checkable.
    """
    s = sentence.strip()
    if s.endswith(("?", "?")) or not re.search(r"[。.]$|ます$", s):
        return False
    return bool(_CHECKABLE.search(s))
