"""Class definition cards: per class, the attributes that define it (e.g. ``bar: high chairs, drinks, a bar counter``).

Owns parsing a card typed as text, importing / exporting cards as JSON (``{"bar": ["high chairs", ...]}``) or
CSV (``class,attribute`` rows, through the formula guard of :mod:`indoor.decisions.csvio`), and how a ticked
attribute is saved with a decision (``"bar: high chairs"``, :func:`qualify` / :func:`unqualify`). Cards are
stored by :meth:`indoor.decisions.DecisionStore.set_card`; everything here is pure.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence

# SEP may not appear in an attribute (the decisions store joins lists with it)
from indoor.decisions.csvio import csv_text, unneutralise
from indoor.decisions.model import SEP

__all__ = [
    "ATTRIBUTE_SEP",
    "CardError",
    "parse_attributes",
    "parse_cards",
    "cards_to_json",
    "cards_to_csv",
    "qualify",
    "unqualify",
]

ATTRIBUTE_SEP = ": "  # "class: attribute" in Decision.attributes


class CardError(ValueError):
    """A card or a cards file that cannot be used; ``problems`` lists every reason."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems)


def _attribute_problems(attributes: Sequence[str], where: str) -> list[str]:
    problems = []
    for a in attributes:
        if SEP in a:
            problems.append(f"{where}: attribute {a!r} contains ';'")
    return problems


def _clean(attributes: Iterable[str]) -> list[str]:
    """Stripped, without blanks, each once (first occurrence wins)."""
    out: list[str] = []
    for a in attributes:
        a = a.strip()
        if a and a not in out:
            out.append(a)
    return out


def parse_attributes(text: str, *, class_name: str = "card") -> list[str]:
    """A card typed as text, one attribute per line -> the attribute list (blank lines and repeats dropped).

    Raises :class:`CardError` when an attribute contains ';'.
    """
    attributes = _clean(text.splitlines())
    problems = _attribute_problems(attributes, class_name)
    if problems:
        raise CardError("; ".join(problems), problems)
    return attributes


def parse_cards(text: str, *, classes: Sequence[str], fmt: str | None = None) -> dict[str, list[str]]:
    """Cards from a JSON (``{"class": ["attribute", ...]}``) or CSV (header ``class,attribute``) text.

    ``fmt``: "json", "csv" or None (guessed: JSON when the text starts with ``{``). Every class must be one of
    ``classes``; attributes are stripped, blanks and repeats dropped (a CSV row with an empty attribute keeps an
    empty card, which clears it). Raises :class:`CardError` listing every problem, unknown classes first, in one
    message; nothing is returned partially.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "csv"
    if fmt == "json":
        raw, problems = _cards_from_json(text)
    elif fmt == "csv":
        raw, problems = _cards_from_csv(text)
    else:
        raise CardError(f"unknown cards format {fmt!r} (expected json or csv)")
    known = set(classes)
    unknown = [name for name in raw if name not in known]
    if unknown:
        listed = ", ".join(repr(u) for u in unknown)
        problems.insert(0, f"unknown class{'es' if len(unknown) > 1 else ''} {listed} "
                           f"(this cache's classes: {', '.join(classes)})")
    cards = {name: _clean(attrs) for name, attrs in raw.items()}
    for name, attrs in cards.items():
        problems.extend(_attribute_problems(attrs, name))
    if problems:
        raise CardError(f"cards not imported - {len(problems)} problem(s):\n" + "\n".join(problems), problems)
    return cards


def _cards_from_json(text: str) -> tuple[dict[str, list[str]], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(f"not valid JSON: {exc}", [f"not valid JSON: {exc}"]) from None
    if not isinstance(data, dict):
        msg = 'a cards JSON file is an object {"class": ["attribute", ...]}'
        raise CardError(msg, [msg])
    cards: dict[str, list[str]] = {}
    problems: list[str] = []
    for name, attrs in data.items():
        if isinstance(attrs, str) or not isinstance(attrs, list):
            problems.append(f"{name}: attributes must be a list of strings")
            continue
        bad = [a for a in attrs if not isinstance(a, str)]
        if bad:
            problems.append(f"{name}: attributes must be strings, not {bad[0]!r}")
            continue
        cards[str(name)] = list(attrs)
    return cards, problems


def _cards_from_csv(text: str) -> tuple[dict[str, list[str]], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CardError("the cards CSV is empty (no header line)", ["empty file"]) from None
    except csv.Error as exc:
        raise CardError(f"line 1: unreadable CSV: {exc}", [str(exc)]) from None
    missing = [c for c in ("class", "attribute") if c not in header]
    if missing:
        msg = f"line 1: missing column(s) {', '.join(missing)} (expected a header class,attribute)"
        raise CardError(msg, [msg])
    i_class, i_attr = header.index("class"), header.index("attribute")
    cards: dict[str, list[str]] = {}
    problems: list[str] = []
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            name = unneutralise(cells[i_class].strip()) if i_class < len(cells) else ""
            attr = unneutralise(cells[i_attr]) if i_attr < len(cells) else ""
            if not name:
                problems.append(f"line {line}: empty class")
                continue
            cards.setdefault(name, [])
            if attr.strip():
                cards[name].append(attr)
    except csv.Error as exc:
        problems.append(f"line {line + 1}: unreadable CSV: {exc}")
    return cards, problems


def cards_to_json(cards: Mapping[str, Sequence[str]], *, classes: Sequence[str] | None = None) -> str:
    """Cards as pretty JSON (``{"class": [attributes]}``), in ``classes`` order when given."""
    ordered = {name: list(cards[name]) for name in _ordered(cards, classes)}
    return json.dumps(ordered, ensure_ascii=False, indent=2) + "\n"


def cards_to_csv(cards: Mapping[str, Sequence[str]], *, classes: Sequence[str] | None = None) -> str:
    """Cards as CSV rows ``class,attribute`` (an empty card: one row with an empty attribute), cells that would
    start a spreadsheet formula prefixed with "'" (read back by :func:`parse_cards`)."""
    rows = ([name, attr] for name in _ordered(cards, classes) for attr in list(cards[name]) or [""])
    return csv_text(["class", "attribute"], rows)


def _ordered(cards: Mapping[str, Sequence[str]], classes: Sequence[str] | None) -> list[str]:
    if classes is None:
        return list(cards)
    first = [c for c in classes if c in cards]
    return first + [c for c in cards if c not in set(first)]


def qualify(class_name: str, attribute: str) -> str:
    """How a ticked card attribute is saved with a decision: ``"bar: high chairs"``."""
    return f"{class_name}{ATTRIBUTE_SEP}{attribute}"


def unqualify(text: str) -> tuple[str, str]:
    """``"bar: high chairs"`` -> ("bar", "high chairs"); text without a class -> ("", text)."""
    name, sep, attribute = text.partition(ATTRIBUTE_SEP)
    return (name, attribute) if sep else ("", text)
