"""MNT007 StuckBooleanFlag: an argparse boolean flag that cannot be turned off (or on)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from maintenance.astutil import dotted, tree_nodes
from maintenance.codemods.base import (
    FileContext,
    Invalid,
    LibcstRule,
    cst,
    import_aliases,
    resolve_dotted,
)

BOOLEAN_OPTIONAL = "argparse.BooleanOptionalAction"
OPPOSITE = {"store_true": "store_false", "store_false": "store_true"}


@dataclass
class _Argument:
    """One `add_argument(...)` call, as far as its literal arguments tell (read from libcst by the visitor,
    from `ast` by the prefilter: `node` and `action_arg` are of the tree it was read from)."""

    node: Any
    options: tuple[str, ...]
    action: str | None  # "store_true", "store_false", "boolean_optional", another literal, or None
    default: bool | None
    dest: str | None
    type_bool: bool
    action_arg: Any


def _stuck(arguments: list[_Argument]) -> Iterator[_Argument]:
    """The arguments of a module that are reported: `type=bool`, or a store action whose default is its
    own value with no partner writing the same `dest` the other way."""
    by_dest: dict[str, list[_Argument]] = {}
    for arg in arguments:
        if arg.dest is not None:
            by_dest.setdefault(arg.dest, []).append(arg)
    for arg in arguments:
        if arg.type_bool:
            yield arg
            continue
        if arg.action not in OPPOSITE or arg.default is not (arg.action == "store_true"):
            continue
        partners = by_dest.get(arg.dest or "", [])
        if any(p is not arg and p.action in (OPPOSITE[arg.action], "boolean_optional") for p in partners):
            continue
        yield arg


class StuckBooleanFlag(LibcstRule):
    """A boolean command-line flag that cannot be turned off (or on).

    ## What it does
    Finds `add_argument` calls (on any parser, argument group or subparser, wherever it was created)
    with `action="store_true", default=True` or `action="store_false", default=False` and no partner
    argument in the module that writes the same `dest` with the opposite action, and any
    `type=bool`. The first kind is fixed with `action=argparse.BooleanOptionalAction`, which adds
    `--no-<flag>`; `import argparse` is added when the module lacks it.

    ## Why is this bad?
    `store_true` with `default=True` is True whether or not the flag is given: nothing on the command
    line can set it to False, so the switch silently does nothing. `type=bool` calls `bool("False")`,
    which is True: `--flag False` turns the flag on.

    ## Example
    ```python
    parser.add_argument("--rescale", action="store_true", default=True)
    parser.add_argument("--amp", type=bool, default=False)
    ```

    ## Use instead
    ```python
    parser.add_argument("--rescale", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False)
    ```

    ## Fix safety
    Safe: every command line that parsed before parses to the same values (`--rescale` and no flag both
    give True, as before), and `--no-rescale` now gives False; only the `--help` text changes (it shows
    `--rescale, --no-rescale` and the default). Needs Python >= 3.9. No fix where the flag has no
    `--long` option, already starts with `--no-`, the module already defines `--no-<flag>`, or the name
    `argparse` is bound to something else. Unsafe (applied with `--unsafe-fixes`) where an abbreviation
    that argparse accepts today (`--n` for the only option starting with it) would become ambiguous with
    the new `--no-<flag>`, and where the module creates no `ArgumentParser` (the parser comes from another
    module, which may define `--no-<flag>` itself: argparse would then refuse the conflicting option).
    `store_false`/`default=False` and `type=bool` are reported only (which spelling the user wants is
    the author's decision).
    """

    CODE: ClassVar[str] = "MNT007"
    NAME: ClassVar[str] = "StuckBooleanFlag"
    FIX_TITLE: ClassVar[str] = "Use `action=argparse.BooleanOptionalAction`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("add_argument",)
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True
    METADATA: ClassVar[tuple[str, ...]] = ("PositionProvider", "ScopeProvider")

    INVALID = (
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--rescale', action='store_true', default=True)\n",
            "import argparse\n\np = argparse.ArgumentParser()\n"
            "p.add_argument('--rescale', action=argparse.BooleanOptionalAction, default=True)\n",
        ),
        Invalid(
            "from argparse import ArgumentParser\n\np = ArgumentParser()\n"
            'p.add_argument("--use-gat", default=True, action="store_true", help="graph stage")\n',
            "from argparse import ArgumentParser\nimport argparse\n\np = ArgumentParser()\n"
            'p.add_argument("--use-gat", default=True, action=argparse.BooleanOptionalAction, help="graph stage")\n',
        ),
        Invalid(
            "import argparse as ap\n\n\ndef add_args(parser):\n"
            "    parser.add_argument('-r', '--rescale', action='store_true', default=True)\n",
            "import argparse as ap\n\n\ndef add_args(parser):\n"
            "    parser.add_argument('-r', '--rescale', action=ap.BooleanOptionalAction, default=True)\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "from argparse import BooleanOptionalAction\n\n\ndef add_args(group):\n"
            "    group.add_argument('--amp', action='store_true', default=True)\n",
            "from argparse import BooleanOptionalAction\n\n\ndef add_args(group):\n"
            "    group.add_argument('--amp', action=BooleanOptionalAction, default=True)\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def build(sub):\n    train = sub.add_parser('train')\n"
            "    train.add_argument('--shuffle', action='store_true', default=True)\n    return train\n",
            "import argparse\n\ndef build(sub):\n    train = sub.add_parser('train')\n"
            "    train.add_argument('--shuffle', action=argparse.BooleanOptionalAction, default=True)\n    return train\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "import argparse\n\n\ndef add_args(parser):\n    parser.add_argument('--amp', action='store_true', default=True)\n"
            "\n\ndef main():\n    parser = argparse.ArgumentParser()\n    add_args(parser)\n",
            "import argparse\n\n\ndef add_args(parser):\n"
            "    parser.add_argument('--amp', action=argparse.BooleanOptionalAction, default=True)\n"
            "\n\ndef main():\n    parser = argparse.ArgumentParser()\n    add_args(parser)\n",
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--cache', action='store_false', default=False)\n"
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--amp', type=bool, default=False)\n"
        ),
        Invalid("import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--amp', type=bool)\n"),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('-v', action='store_true', default=True)\n"
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--no-cache', action='store_true', default=True)\n"
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--gat', action='store_true', default=True)\n"
            "p.add_argument('--no-gat', dest='skip_gat', action='store_true')\n"
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\n"
            "p.add_argument('--rescale', action='store_true', default=True)\n"
            "p.add_argument('--no-rescale', dest='rescale', action='store_true')\n"
        ),
        Invalid(
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--num-workers', type=int)\n"
            "p.add_argument('--rescale', action='store_true', default=True)\n",
            "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--num-workers', type=int)\n"
            "p.add_argument('--rescale', action=argparse.BooleanOptionalAction, default=True)\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def main():\n    argparse = object()\n    p = make()\n"
            "    p.add_argument('--rescale', action='store_true', default=True)\n"
        ),
    )
    VALID = (
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--rescale', action='store_true')\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--rescale', action='store_true', default=False)\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--cache', action='store_false', default=True)\n",
        "import argparse\n\np = argparse.ArgumentParser()\n"
        "p.add_argument('--rescale', action=argparse.BooleanOptionalAction, default=True)\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--rescale', action='store_true', default=True)\n"
        "p.add_argument('--no-rescale', dest='rescale', action='store_false')\n",
        "import argparse\n\np = argparse.ArgumentParser()\ng = p.add_mutually_exclusive_group()\n"
        "g.add_argument('--gat', dest='use_gat', action='store_true', default=True)\n"
        "g.add_argument('--no-gat', dest='use_gat', action='store_false')\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--lr', type=float, default=1e-3)\n",
        "import argparse\n\n\ndef str2bool(v):\n    return v.lower() in ('1', 'true')\n\n\n"
        "p = argparse.ArgumentParser()\np.add_argument('--amp', type=str2bool, default=False)\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--verbose', '-v', action='count', default=0)\n",
        "import argparse\n\np = argparse.ArgumentParser()\nopts = dict(action='store_true', default=True)\n"
        "p.add_argument('--rescale', **opts)\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--keep', action='store_false', dest='drop')\n"
        "p.add_argument('--drop', action='store_true', default=True)\n",
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--gat', action='store_true', default=flag)\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """Whether some `add_argument` call is reported: the visitor's decision (`_stuck`) on the calls as
        `ast` reads them, so that libcst parses only a module with a finding."""
        if not super().may_match(tree, source, context):
            return False
        arguments = [
            argument
            for node in tree_nodes(tree).of(ast.Call)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"
            for argument in [_read_ast(node)]
            if argument is not None
        ]
        return any(True for _ in _stuck(arguments))

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.arguments: list[_Argument] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "add_argument"):
            return
        argument = _read(node)
        if argument is not None:
            self.arguments.append(argument)

    def leave_Module(self, original_node: cst.Module) -> None:
        all_options = {opt for arg in self.arguments for opt in arg.options}
        for arg in _stuck(self.arguments):
            if arg.type_bool:
                self.report(
                    arg.node,
                    f"`{_shown(arg)}` uses `type=bool`: `bool('False')` is True, so `{_first(arg)} False` turns "
                    "it on; use `action=argparse.BooleanOptionalAction` (or `store_true`)",
                )
                continue
            if arg.action == "store_false":
                self.report(
                    arg.node,
                    f"`{_shown(arg)}` has `action='store_false', default=False`: it is False whether or not the "
                    "flag is given, so nothing can turn it on; use `action='store_true'` or "
                    "`argparse.BooleanOptionalAction`",
                )
                continue
            self._report_store_true(arg, all_options)

    def _report_store_true(self, arg: _Argument, all_options: set[str]) -> None:
        message = (
            f"`{_shown(arg)}` has `action='store_true', default=True`: it is True whether or not the flag is "
            "given, so nothing can turn it off; use `action=argparse.BooleanOptionalAction` "
            "(adds `--no-...`)"
        )
        longs = [opt for opt in arg.options if opt.startswith("--")]
        negated = {"--no-" + opt[2:] for opt in longs}
        reference = self._action_reference(arg.node)
        if (
            not longs
            or any(opt.startswith("--no-") for opt in longs)
            or negated & all_options
            or reference is None
        ):
            self.report(arg.node, message)
            return
        name, needs_import = reference
        action_arg = arg.action_arg
        assert action_arg is not None
        new_value = cst.parse_expression(name)

        def fix(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            args = [
                a.with_changes(value=new_value)
                if a.keyword is not None and a.keyword.value == "action"
                else a
                for a in updated.args
            ]
            return updated.with_changes(args=args)

        ambiguous = _newly_ambiguous(negated, all_options)
        if ambiguous:
            message += (
                f" (unsafe fix: the abbreviation `{ambiguous}` of an existing option would become ambiguous "
                "with the new `--no-` option)"
            )
        elif not self._creates_parser():
            message += (
                " (unsafe fix: the parser is created in another module, which may already define "
                f"`{sorted(negated)[0]}`)"
            )
        self.report(
            arg.node,
            message,
            replacement=fix,
            unsafe=bool(ambiguous) or not self._creates_parser(),
            imports=(("argparse", None),) if needs_import else (),
        )

    def _creates_parser(self) -> bool:
        """Whether this module makes an `argparse.ArgumentParser` (so it sees every option of its parsers)."""
        tree = self.context.tree if self.context.tree is not None else ast.parse(self.context.source)
        aliases = import_aliases(tree)
        return any(
            resolve_dotted(node.func, aliases) == "argparse.ArgumentParser"
            for node in tree_nodes(tree).of(ast.Call)
        )

    def _action_reference(self, node: cst.Call) -> tuple[str, bool] | None:
        """How the call's scope can name `BooleanOptionalAction`, and whether `import argparse` is needed."""
        scope = self.get_metadata(cst.metadata.ScopeProvider, node, None)
        if scope is None:
            return None
        tree = self.context.tree if self.context.tree is not None else ast.parse(self.context.source)
        for local, qualified in sorted(import_aliases(tree).items()):
            if qualified not in ("argparse", BOOLEAN_OPTIONAL) or local not in scope:
                continue
            if all(isinstance(a, cst.metadata.ImportAssignment) for a in scope[local]):
                return (local if qualified == BOOLEAN_OPTIONAL else f"{local}.BooleanOptionalAction"), False
        if "argparse" in scope:
            return None  # bound to something other than the module
        return "argparse.BooleanOptionalAction", True


def _newly_ambiguous(added: set[str], options: set[str]) -> str | None:
    """An abbreviation that names exactly one existing option today and would also match an added one.

    argparse accepts any unique prefix of a long option (`allow_abbrev`, on by default); adding
    `--no-rescale` makes `--n` ambiguous when `--num-workers` was the only option starting with it.
    """
    for new in sorted(added):
        for end in range(3, len(new) + 1):
            prefix = new[:end]
            matches = [opt for opt in options if opt.startswith(prefix)]
            if len(matches) == 1 and matches[0] != prefix:
                return prefix
    return None


def _literal(node: cst.BaseExpression) -> object:
    """The value of a literal string/True/False/None, else a sentinel."""
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else _UNKNOWN
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    return _UNKNOWN


_UNKNOWN = object()


def _read(node: cst.Call) -> _Argument | None:
    """The literal facts of an `add_argument` call; `None` where `*args`/`**kwargs` hide them."""
    if any(a.star for a in node.args):
        return None
    positional = [_literal(a.value) for a in node.args if a.keyword is None]
    keywords = {
        a.keyword.value: (_literal(a.value), _dotted(a.value), a) for a in node.args if a.keyword is not None
    }
    return _argument(node, positional, keywords)


def _read_ast(node: ast.Call) -> _Argument | None:
    """`_read` on the `ast` of the call (the same facts: `ast` joins implicitly concatenated strings and
    holds True/False/None as constants, as libcst's `evaluated_value` and names give them)."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    positional = [_literal_ast(a) for a in node.args]
    keywords = {k.arg: (_literal_ast(k.value), dotted(k.value) or "", k) for k in node.keywords if k.arg}
    return _argument(node, positional, keywords)


def _argument(
    node: Any, positional: list[object], keywords: dict[str, tuple[object, str, Any]]
) -> _Argument | None:
    """The `_Argument` of a call from its positional arguments' literal values and, by keyword, each
    keyword's literal value, dotted name (`""` when not a name) and node; `None` for a positional argument."""
    if not positional or not all(isinstance(opt, str) and opt.startswith("-") for opt in positional):
        return None  # a positional argument, or options that are not literal strings
    options = tuple(str(opt) for opt in positional)
    action_arg = keywords.get("action")
    action: str | None = None
    if action_arg is not None:
        value, name, _ = action_arg
        if isinstance(value, str):
            action = value
        elif name.endswith("BooleanOptionalAction"):
            action = "boolean_optional"
        else:
            action = "unknown"
    default = keywords["default"][0] if "default" in keywords else None
    if "dest" in keywords:
        dest = keywords["dest"][0]
        dest = dest if isinstance(dest, str) else None
    else:
        dest = _default_dest(list(options))
    type_bool = "type" in keywords and keywords["type"][1] == "bool"
    return _Argument(
        node,
        options,
        action,
        default if isinstance(default, bool) else None,
        dest,
        type_bool,
        action_arg[2] if action_arg is not None else None,
    )


def _literal_ast(node: ast.expr) -> object:
    """`_literal` on `ast`: a string, True, False or None constant, else a sentinel."""
    if isinstance(node, ast.Constant) and (isinstance(node.value, str | bool) or node.value is None):
        return node.value
    return _UNKNOWN


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _default_dest(options: list[str]) -> str:
    """argparse's rule: the first long option, else the first short one, without dashes, `-` -> `_`."""
    longs = [opt for opt in options if opt.startswith("--")]
    chosen = longs[0] if longs else options[0]
    return chosen.lstrip("-").replace("-", "_")


def _first(arg: _Argument) -> str:
    longs = [opt for opt in arg.options if opt.startswith("--")]
    return longs[0] if longs else arg.options[0]


def _shown(arg: _Argument) -> str:
    return _first(arg)
