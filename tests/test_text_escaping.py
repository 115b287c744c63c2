"""Data reaches Streamlit's Markdown only through ``md()`` (or HTML only through ``esc()``): a static check.

Streamlit renders GitHub-flavoured Markdown (images, links, autolinks, emphasis, HTML-ish, LaTeX, emoji codes)
in far more places than st.markdown: captions (also st.image's), alerts, toasts, metric labels/values/deltas,
``help=`` tooltips, widget and expander labels, page links, button labels, the options of radio /
segmented_control / pills / select_slider, spinner and progress texts, headings. A class name such as
``![p](https://evil.example/p.png)`` put there unescaped makes the browser fetch a remote image when the page opens.

The checker walks the AST of app.py, pages/*.py and indoor/app/**/*.py and finds every text argument of those
calls. An argument passes when it provably holds no data: constants, ``md(...)``, numbers formatted with a numeric
format spec (``{n:,}``, ``{p:.0%}``), ``len``/``int``/``float``/``percent``/``split_label`` (splits are validated
to train/val/test), UPPER_CASE constant tables, and f-strings / ``+`` / ``%`` / ``.format`` / ``.join`` built only
from those. A name is followed to its assignments in the enclosing function (then the module). A function
parameter that reaches such an argument makes the function itself a sink: its callers' arguments are checked in
its place (e.g. ``urls.class_pair_link(..., label=...)``). st.html arguments must come through ``esc()``.

Selectbox / multiselect options (``format_func``), st.text, st.code and dataframe cells are plain text in
Streamlit 1.67 (checked in the browser): ``md()`` there would show its backslashes, so they are not sinks.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# method name -> (positional argument indexes, keyword names) rendered as Markdown
MARKDOWN_ARGS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    **{name: ((0,), ("body",)) for name in ("markdown", "caption", "info", "warning", "error", "success", "toast",
                                             "title", "header", "subheader")},
    "write": ((0, 1, 2, 3), ()),
    "metric": ((0, 1, 2), ("label", "value", "delta")),
    **{name: ((0,), ("label",)) for name in (
        "expander", "popover", "button", "form_submit_button", "link_button", "download_button", "checkbox",
        "toggle", "radio", "segmented_control", "pills", "select_slider", "selectbox", "multiselect", "text_input",
        "text_area", "number_input", "slider", "date_input", "time_input", "file_uploader", "color_picker",
        "camera_input", "chat_input", "status", "feedback")},
    "page_link": ((1,), ("label",)),
    "tabs": ((0,), ("tabs",)),
    "spinner": ((0,), ("text",)),
    "progress": ((1,), ("text",)),
    "image": ((1,), ("caption",)),
    "dialog": ((0,), ("title",)),
}
MARKDOWN_KEYWORDS = ("help",)  # on any Streamlit call (also st.column_config.*)
MARKDOWN_OPTIONS = {"radio", "segmented_control", "pills", "select_slider"}  # their format_func output is Markdown
# plain text in Streamlit 1.67 (checked in the browser): md() there shows its backslashes -> call name: what is plain
PLAIN_TEXT = {"selectbox": "format_func", "multiselect": "format_func", "text": 0, "code": 0}
HTML_ARGS = {"html": ((0,), ("body",))}
# method names other objects have too (loggers, files, str.title, ...): a Streamlit call only on st or a name bound
# to a Streamlit object
AMBIGUOUS_METHODS = {"write", "info", "warning", "error", "success", "title", "header", "progress", "status",
                     "image", "html", "dialog", "tabs", "slider", "button"}

NUMBER_CALLS = {"len", "int", "float", "round", "abs", "bool", "sum"}
# helpers whose text holds no data: code (a literal code span), percent (numbers), split_label (splits are validated to train/val/test at
# load), pop_notice (a notice's text was checked where it was written: notify() is a sink)
SAFE_CALLS = {"md", "code", *NUMBER_CALLS, "percent", "split_label", "pop_notice"}
# functions outside Streamlit whose arguments end up in Streamlit Markdown: name -> {position or keyword: kind}
KNOWN_SINKS: dict[str, dict[object, str]] = {"notify": {1: "markdown", "text": "markdown"}}
SAFE_METHODS = {"lower", "upper", "title", "capitalize", "strip", "rstrip", "lstrip"}
NUMERIC_SPEC = re.compile(r"^.*[,_]|.*[bcdeEfFgGnoxX%]$")
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def source_files() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "indoor" / "app").rglob("*.py"))]
    return [f for f in files if f.is_file()]


@dataclass
class Finding:
    where: str
    line: int
    call: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.call}: {self.reason}"


@dataclass
class _Scope:
    node: ast.AST  # a FunctionDef / Lambda / Module
    params: list[str] = field(default_factory=list)
    assigned: dict[str, list[ast.expr | None]] = field(default_factory=dict)  # None: bound but not traceable
    parent: _Scope | None = None
    name: str = ""


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _uses_st(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "st" for n in ast.walk(node))


def _numeric_spec(spec: ast.expr | None) -> bool:
    if spec is None:
        return False
    if isinstance(spec, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "0" for v in spec.values)  # {digits} nested
    else:
        return False
    return bool(text) and bool(NUMERIC_SPEC.match(text))


class _Module:
    """One source file: its scopes (module, functions, lambdas), the names bound to Streamlit objects, and
    its Markdown sinks."""

    def __init__(self, path: Path, source: str, sink_params: dict[str, dict[object, str]]) -> None:
        self.path = path
        self.where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        self.tree = ast.parse(source)
        self.sink_params = sink_params  # function name -> {param index or name: "markdown"/"html"}
        self.scope_of: dict[ast.AST, _Scope] = {}
        self.st_names: set[str] = {"st"}
        self.functions: dict[str, ast.FunctionDef] = {}
        self._build_scopes()

    # --------------------------------------------------------------------------------------------- scopes
    def _build_scopes(self) -> None:
        module = _Scope(self.tree, name="<module>")
        self.scope_of[self.tree] = module
        self._fill(self.tree, module)

    def _fill(self, node: ast.AST, scope: _Scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = child.args
                params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
                inner = _Scope(child, params=params, parent=scope, name=getattr(child, "name", "<lambda>"))
                self.scope_of[child] = inner
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._bind(scope, child.name, None)
                    self.functions.setdefault(child.name, child)
                self._fill(child, inner)
                continue
            if isinstance(child, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                for generator in child.generators:
                    self._bind_target(scope, generator.target, None)
            self._visit_statement(child, scope)
            self._fill(child, scope)

    def _visit_statement(self, node: ast.AST, scope: _Scope) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(scope, target, node.value)
            self._note_st(node.targets, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self._bind_target(scope, node.target, node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            self._bind(scope, node.target.id, node.value)
        elif isinstance(node, ast.NamedExpr):
            self._bind(scope, node.target.id, node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if isinstance(node.iter, (ast.List, ast.Tuple)):  # a literal list: the target takes each item
                for item in node.iter.elts:
                    self._bind_target(scope, node.target, item)
            else:
                self._bind_target(scope, node.target, None)
            self._note_st([node.target], node.iter)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind_target(scope, item.optional_vars, None)
                    self._note_st([item.optional_vars], item.context_expr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                self._bind(scope, (alias.asname or alias.name).split(".")[0], None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self._bind(scope, node.name, None)

    def _note_st(self, targets: list[ast.expr], value: ast.expr) -> None:
        """Names bound to Streamlit containers (st.columns, st.tabs, st.container, st.empty, st.sidebar, ...)."""
        if _uses_st(value):
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        self.st_names.add(name.id)

    def _bind_target(self, scope: _Scope, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(scope, target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                values = value.elts
            else:  # each element stands for the whole value: safe when the whole is
                values = [value] * len(target.elts)
            for element, element_value in zip(target.elts, values):
                self._bind_target(scope, element, element_value)
        elif isinstance(target, ast.Starred):
            self._bind_target(scope, target.value, None)

    @staticmethod
    def _bind(scope: _Scope, name: str, value: ast.expr | None) -> None:
        scope.assigned.setdefault(name, []).append(value)

    def _scope_at(self, node: ast.AST) -> _Scope:
        return self._parents_scope[node]

    def index_parents(self) -> None:
        """Map every node to its innermost scope."""
        self._parents_scope: dict[ast.AST, _Scope] = {}

        def walk(node: ast.AST, scope: _Scope) -> None:
            for child in ast.iter_child_nodes(node):
                inner = self.scope_of.get(child, scope)
                self._parents_scope[child] = inner
                walk(child, inner)

        self._parents_scope[self.tree] = self.scope_of[self.tree]
        walk(self.tree, self.scope_of[self.tree])

    # ------------------------------------------------------------------------------------------ the check
    def is_streamlit_call(self, call: ast.Call) -> bool:
        """``st.x(...)``, ``column.x(...)`` (a name bound to a Streamlit object), or a method only Streamlit has
        (``box.metric(...)`` on a container passed in as a parameter)."""
        func = call.func
        if not isinstance(func, ast.Attribute):
            return False
        return _root_name(func.value) in self.st_names or (
            func.attr in MARKDOWN_ARGS and func.attr not in AMBIGUOUS_METHODS)

    def check(self) -> tuple[list[Finding], dict[str, dict[object, str]]]:
        """Findings of this file, and the parameters of its functions that reach a sink (new sinks)."""
        self.index_parents()
        findings: list[Finding] = []
        new_sinks: dict[str, dict[object, str]] = {}
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            findings.extend(self.plain_text_findings(node))
            for expr, kind, what in self.sink_arguments(node):
                scope = self._scope_at(expr)
                reasons, params = self.unsafe(expr, scope, kind, set())
                for reason in reasons:
                    findings.append(Finding(self.where, expr.lineno, what, reason))
                for owner, param in params:
                    function = owner.node
                    args = function.args
                    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
                    entry = new_sinks.setdefault(owner.name, {})
                    entry[param] = kind
                    if param in positional:
                        entry[positional.index(param)] = kind
        return findings, new_sinks

    def plain_text_findings(self, call: ast.Call) -> list[Finding]:
        """md() where Streamlit shows text as it is (selectbox options, st.text, st.code): its escapes would show."""
        name = _called_name(call)
        found = []
        for text in ast.walk(call) if self.is_streamlit_call(call) else ():  # md() inside a `code span`
            if isinstance(text, ast.JoinedStr):
                ticks = 0
                for part in text.values:
                    if isinstance(part, ast.Constant):
                        ticks += str(part.value).count("`")
                    elif ticks % 2 and any(isinstance(n, ast.Name) and n.id == "md" for n in ast.walk(part)):
                        found.append(Finding(self.where, part.lineno, f"st.{name}",
                                             "md() inside a `code span` shows its backslashes: use code(...)"))
        if name not in PLAIN_TEXT or not self.is_streamlit_call(call) and name not in MARKDOWN_ARGS:
            return found
        where = PLAIN_TEXT[name]
        if isinstance(where, int):
            values = call.args[where:where + 1]
        else:
            values = [k.value for k in call.keywords if k.arg == where]
        return found + [Finding(self.where, value.lineno, f"st.{name}", "shows text as it is: md() would show its "
                                "backslashes") for value in values for n in ast.walk(value)
                        if isinstance(n, ast.Name) and n.id == "md" or isinstance(n, ast.Attribute) and n.attr == "md"]

    def sink_arguments(self, call: ast.Call):
        """(argument, "markdown"/"html", description) of ``call`` that Streamlit renders as Markdown/HTML."""
        name = _called_name(call)
        if name is None:
            return
        if self.is_streamlit_call(call):
            table = HTML_ARGS if name in HTML_ARGS else MARKDOWN_ARGS
            kind = "html" if name in HTML_ARGS else "markdown"
            positions, keywords = table.get(name, ((), ()))
            for i in positions:
                if i < len(call.args) and not isinstance(call.args[i], ast.Starred):
                    yield from self._expand(call.args[i], kind, f"st.{name} argument {i + 1}", name)
            for keyword in call.keywords:
                if keyword.arg in keywords:
                    yield from self._expand(keyword.value, kind, f"st.{name}({keyword.arg}=)", name)
                elif keyword.arg in MARKDOWN_KEYWORDS:
                    yield keyword.value, "markdown", f"st.{name}({keyword.arg}=)"
                elif keyword.arg == "format_func" and name in MARKDOWN_OPTIONS:
                    yield from self._format_func(keyword.value, name)
            return
        sinks = self.sink_params.get(name)
        if sinks:
            for i, arg in enumerate(call.args):
                if i in sinks and not isinstance(arg, ast.Starred):
                    yield arg, sinks[i], f"{name}() argument {i + 1}"
            for keyword in call.keywords:
                if keyword.arg in sinks:
                    yield keyword.value, sinks[keyword.arg], f"{name}({keyword.arg}=)"

    def _expand(self, expr: ast.expr, kind: str, what: str, name: str):
        """A list of labels (st.tabs, st.image captions) is checked element by element."""
        if isinstance(expr, (ast.List, ast.Tuple)):
            for element in expr.elts:
                yield element, kind, what
        elif isinstance(expr, (ast.ListComp, ast.GeneratorExp)) and name in ("image", "tabs"):
            yield expr.elt, kind, what
        else:
            yield expr, kind, what

    def _format_func(self, func: ast.expr, name: str):
        what = f"st.{name}(format_func=)"
        if isinstance(func, ast.Lambda):
            yield func.body, "markdown", what
        elif isinstance(func, ast.Name) and func.id in self.functions:
            for node in ast.walk(self.functions[func.id]):
                if isinstance(node, ast.Return) and node.value is not None:
                    yield node.value, "markdown", what
        elif not self._safe_callable(func):
            yield func, "markdown", what  # reported as not provably safe

    @staticmethod
    def _safe_callable(func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in SAFE_CALLS
        if isinstance(func, ast.Attribute):
            if func.attr in SAFE_CALLS:
                return True
            if func.attr not in ("get", "__getitem__"):
                return False
            table = func.value
            if isinstance(table, ast.Dict):  # a literal table of constants
                return all(isinstance(v, ast.Constant) for v in table.values)
            return isinstance(table, (ast.Name, ast.Attribute)) and \
                bool(CONSTANT.match(table.id if isinstance(table, ast.Name) else table.attr))
        return False

    def _safe_container(self, name: ast.Name, scope: _Scope, kind: str, seen: set) -> bool:
        """``name`` is only ever a dict / list literal or comprehension of safe items (``count_of[k]`` where
        ``count_of = {k: int(...) for k in ...}``)."""
        here: _Scope | None = scope
        while here is not None and name.id not in here.assigned:
            here = here.parent
        if here is None or name.id in here.params:
            return False
        for value in here.assigned[name.id]:
            if isinstance(value, ast.Dict):
                items = list(value.values)
            elif isinstance(value, ast.DictComp):
                items = [value.value]
            elif isinstance(value, (ast.List, ast.Tuple)):
                items = list(value.elts)
            elif isinstance(value, ast.ListComp):
                items = [value.elt]
            else:
                return False
            for item in items:
                if item is None or self.unsafe(item, here, kind, set(seen))[0]:
                    return False
        return True

    def unsafe(self, expr: ast.expr, scope: _Scope, kind: str, seen: set) -> tuple[list[str], list]:
        """Why ``expr`` may carry unescaped data into a ``kind`` sink ([] if it can't), and the function parameters
        it comes from ((scope, name): the function's callers are checked instead)."""
        reasons: list[str] = []
        params: list = []

        def text(node: ast.expr) -> None:
            """``node`` is (part of) the text itself."""
            if isinstance(node, ast.Constant):
                return
            if isinstance(node, ast.JoinedStr):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        if not _numeric_spec(value.format_spec):
                            text(value.value)
                return
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                text(node.left)
                text(node.right)
                return
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                    conversions = re.findall(r"%[-#0 +]*\d*(?:\.\d+)?([a-zA-Z%])", node.left.value)
                    if all(c in "dieEfFgG%xXo" for c in conversions):
                        return
                    for element in node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]:
                        text(element)
                    return
                text(node.left)
                text(node.right)
                return
            if isinstance(node, ast.BinOp):  # arithmetic: both sides must be harmless (numbers are not provable)
                text(node.left)
                text(node.right)
                return
            if isinstance(node, ast.IfExp):
                text(node.body)
                text(node.orelse)
                return
            if isinstance(node, ast.BoolOp):
                for value in node.values:
                    text(value)
                return
            if isinstance(node, (ast.Compare, ast.UnaryOp)) and not (
                    isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd)):
                return  # a bool or a negated number
            if isinstance(node, ast.Call):
                name = _called_name(node)
                func = node.func
                if kind == "markdown" and name == "md" or kind == "html" and name == "esc":
                    return
                if isinstance(func, ast.Attribute) and func.attr == "format":
                    text(func.value)
                    template = func.value.value if isinstance(func.value, ast.Constant) else ""
                    specs = {field_name: spec for _, field_name, spec, _ in string.Formatter().parse(template)
                             if field_name is not None}
                    auto = iter(range(len(node.args)))
                    for i, arg in enumerate(node.args):
                        spec = specs.get(str(i), specs.get("", None)) if specs else None
                        next(auto, None)
                        if not (spec and NUMERIC_SPEC.match(spec)):
                            text(arg)
                    for keyword in node.keywords:
                        spec = specs.get(keyword.arg or "")
                        if not (spec and NUMERIC_SPEC.match(spec)):
                            text(keyword.value)
                    return
                if isinstance(func, ast.Attribute) and func.attr == "join":
                    text(func.value)
                    for arg in node.args:
                        if isinstance(arg, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
                            text(arg.elt)
                        elif isinstance(arg, (ast.List, ast.Tuple)):
                            for element in arg.elts:
                                text(element)
                        else:
                            text(arg)
                    return
                if isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS:
                    text(func.value)
                    return
                if isinstance(func, ast.Attribute) and func.attr == "get" and len(node.args) >= 1 and \
                        self._safe_callable(func):
                    for arg in node.args[1:]:
                        text(arg)
                    return
                if name in SAFE_CALLS and name not in ("md", "esc"):
                    return
                if isinstance(func, ast.Name) and name in self.functions:  # a function of this file: its results
                    function = self.functions[name]
                    for statement in ast.walk(function):
                        if isinstance(statement, ast.Return) and statement.value is not None and \
                                self._scope_at(statement) is self.scope_of[function]:
                            sub_reasons, sub_params = self.unsafe(statement.value, self.scope_of[function], kind, seen)
                            if sub_reasons:
                                reasons.append(f"{name}() returns {ast.unparse(statement.value)[:60]!r}: "
                                               f"{sub_reasons[0]}")
                                return
                            params.extend(sub_params)
                    return
                reasons.append(f"{ast.unparse(node)[:80]!r} is not escaped (wrap it in {_wrap(kind)})")
                return
            if isinstance(node, ast.Subscript):
                base = node.value
                if isinstance(base, (ast.Name, ast.Attribute)) and CONSTANT.match(
                        base.id if isinstance(base, ast.Name) else base.attr):
                    return
                if isinstance(base, ast.Name) and self._safe_container(base, scope, kind, seen):
                    return
                reasons.append(f"{ast.unparse(node)[:80]!r} is not escaped (wrap it in {_wrap(kind)})")
                return
            if isinstance(node, ast.Attribute):
                if CONSTANT.match(node.attr):
                    return
                reasons.append(f"{ast.unparse(node)[:80]!r} is not escaped (wrap it in {_wrap(kind)})")
                return
            if isinstance(node, ast.Name):
                trace_name(node)
                return
            if isinstance(node, (ast.List, ast.Tuple)):
                for element in node.elts:
                    text(element)
                return
            reasons.append(f"{ast.unparse(node)[:80]!r} is not provably free of data (wrap it in {_wrap(kind)})")

        def trace_name(node: ast.Name) -> None:
            if CONSTANT.match(node.id) or node.id in ("True", "False", "None"):
                return
            here: _Scope | None = scope
            while here is not None:
                if node.id in here.params and node.id not in here.assigned:
                    if isinstance(here.node, ast.Lambda):
                        reasons.append(f"{node.id!r} (an option) is not escaped (wrap it in {_wrap(kind)})")
                    else:
                        params.append((here, node.id))
                    return
                if node.id in here.assigned:
                    key = (id(here), node.id)
                    if key in seen:
                        return
                    seen.add(key)
                    values = here.assigned[node.id]
                    if node.id in here.params:
                        params.append((here, node.id))
                    for value in values:
                        if value is None:
                            reasons.append(f"{node.id!r} is not escaped (wrap it in {_wrap(kind)})")
                            return
                    for value in values:
                        sub_reasons, sub_params = self.unsafe(value, here, kind, seen)
                        if sub_reasons:
                            reasons.append(f"{node.id!r} = {ast.unparse(value)[:60]!r}: {sub_reasons[0]}")
                            return
                        params.extend(sub_params)
                    return
                here = here.parent
            reasons.append(f"{node.id!r} is not escaped (wrap it in {_wrap(kind)})")

        text(expr)
        return reasons, params


def _wrap(kind: str) -> str:
    return "md(...)" if kind == "markdown" else "esc(...)"


def check_sources(sources: dict[Path, str]) -> list[Finding]:
    """Every unescaped road from data to Streamlit Markdown/HTML in ``sources`` (path -> source text)."""
    sink_params: dict[str, dict[object, str]] = {name: dict(sinks) for name, sinks in KNOWN_SINKS.items()}
    for _ in range(6):  # until no new wrapper functions are found
        findings: list[Finding] = []
        grown = False
        for path, source in sources.items():
            module = _Module(path, source, sink_params)
            found, new = module.check()
            findings.extend(found)
            for function, params in new.items():
                entry = sink_params.setdefault(function, {})
                for param, kind in params.items():
                    if param not in entry:
                        entry[param] = kind
                        grown = True
        if not grown:
            break
    return sorted(findings, key=lambda f: (f.where, f.line, f.call, f.reason))


def check_source(source: str, name: str = "sample.py") -> list[Finding]:
    return check_sources({ROOT / name: source})


# ===================================================================================================== tests


def test_no_unescaped_data_reaches_streamlit_markdown():
    sources = {path: path.read_text() for path in source_files()}
    assert len(sources) > 20
    findings = check_sources(sources)
    assert not findings, "data reaches Streamlit Markdown unescaped:\n" + "\n".join(map(str, findings))


BAD_SAMPLES = {
    "f-string": 'import streamlit as st\nname = load()\nst.caption(f"class {name}")\n',
    "concatenation": 'import streamlit as st\ndef f(cache):\n    st.markdown("**" + cache.classes[0] + "**")\n',
    "percent": 'import streamlit as st\nrow = get()\nst.info("no image %s" % row["sample_id"])\n',
    "format": 'import streamlit as st\nx = get()\nst.error("bad: {}".format(x))\n',
    "join": 'import streamlit as st\nnames = get()\nst.caption(", ".join(names))\n',
    "metric value": 'import streamlit as st\na, b = st.columns(2)\nlabel = classes[3]\na.metric("Given", label)\n',
    "help": 'import streamlit as st\nst.button("Go", help=f"as {get()}")\n',
    "expander": 'import streamlit as st\ndef f(pred):\n    with st.expander(f"Why {pred}?"):\n        pass\nf(x)\n',
    "image caption": 'import streamlit as st\nst.image(paths, caption=[f"{c}" for c in names])\n',
    "radio option": 'import streamlit as st\nst.radio("Pick", ids, format_func=lambda i: f"{names[i]} ({n[i]:,})")\n',
    "toast": 'import streamlit as st\nst.toast(f"Recorded: merge {a} into {b}")\n',
    "unformatted number": 'import streamlit as st\nst.caption(f"{rec[\'count\']} images")\n',
    "wrapper": ('import streamlit as st\ndef link(page, *, label):\n    st.page_link(page, label=label)\n'
                'link("p.py", label=f"{name} x")\n'),
    "column": 'import streamlit as st\nfor box, rec in zip(st.columns(3), recs):\n    box.metric("x", rec["label"])\n',
    "spinner": 'import streamlit as st\nwith st.spinner(f"Explaining {sample_id}…"):\n    pass\n',
    "html": 'import streamlit as st\nst.html(f"<b>{name}</b>")\n',
    "table of data": 'import streamlit as st\nname_of = {k: names[k] for k in ks}\nst.info(f"{name_of[k]}")\n',
    "html with md": 'import streamlit as st\nfrom t import md\nst.html(f"<b>{md(name)}</b>")\n',
    "md in selectbox options": 'import streamlit as st\nst.selectbox("Run", runs, format_func=md)\n',
    "md in st.code": 'import streamlit as st\nst.code(md(path))\n',
    "md in a code span": 'import streamlit as st\nst.error(f"run `indoor check {md(path)}` first")\n',
    "exception": 'import streamlit as st\ntry:\n    pass\nexcept ValueError as exc:\n    st.error(f"failed: {exc}")\n',
}


@pytest.mark.parametrize("sample", list(BAD_SAMPLES))
def test_the_checker_catches_unescaped_data(sample):
    findings = check_source(BAD_SAMPLES[sample])
    assert findings, f"the checker missed: {BAD_SAMPLES[sample]}"


GOOD_SAMPLE = '''
import streamlit as st
from indoor.app.text import esc, md, percent, split_label
SORTS = {"a": "A"}
name = load()
st.caption(f"class {md(name)} · {len(rows):,} images · {share:.0%} · {percent(p)} · {split_label(s)}")
st.markdown("**" + md(name) + "**")
st.info("rows: %d" % n)
st.error("bad: {}".format(md(x)))
st.caption(" · ".join(md(n) for n in names))
a, b = st.columns(2)
label = md(classes[3])
a.metric("Given", label, delta="correct" if ok else "wrong", help=f"{SORTS[key].lower()}")
st.image(paths, caption=[md(c) for c in names])
st.radio("Pick", ids, format_func=lambda i: f"{md(names[i])} ({n[i]:,})")
st.selectbox("Plain-text options", names, format_func=lambda c: c)
st.html(f"<b>{esc(name)}</b>")
st.error(f"run {code('indoor check ' + path)} or `indoor build` on {md(path)}")
count_of = {k: int(counts.get(k, 0)) for k in NAMES}
st.info(f"{count_of[key]} images")
def link(page, *, label):
    st.page_link(page, label=label)
link("p.py", label=f"{md(name)} x")
st.text(f"{name}")
st.code(name)
'''


def test_the_checker_passes_escaped_data():
    findings = check_source(GOOD_SAMPLE)
    assert not findings, "\n".join(map(str, findings))


AUTOLINKS = ["https://evil.example/p.png", "see HTTP://evil.example", "www.evil.example", "WWW.Evil.example/x",
             "x@evil.example", "mailto:x@evil.example", "xmpp:x@evil.example/r", "ftp://host/f",
             "![p](https://evil.example/p.png) **bold** [c](www.evil.example) <img src=https://e.example/i.png>"]


@pytest.mark.parametrize("text", AUTOLINKS)
def test_md_neutralises_autolink_literals_and_keeps_the_text(text):
    """GFM turns scheme://, www. and e-mail addresses into links even in escaped text: md() puts an invisible
    word joiner into each (checked in Chromium: no link), and the text reads the same."""
    from indoor.app.text import WORD_JOINER, md

    out = md(text)
    assert "://" not in out and "www." not in out.lower() and all(out[i - 1] == WORD_JOINER
                                                                  for i, c in enumerate(out) if c == "@")
    assert re.sub(r"\\(.)", r"\1", out.replace(WORD_JOINER, "")) == text
