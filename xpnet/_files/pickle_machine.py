"""A pickle machine that imports nothing and calls only the builders it is given, after ``torch.load(weights_only=True)``.

``pickle.load`` imports and calls whatever a file names: a pickle may call ``os.system`` as
easily as it rebuilds an array. :class:`PickleMachine` runs the opcodes of protocols 2 to 5 that
plain data needs (constants, strings, bytes, tuples, one flat dict or list, the memo) and looks
each global up, by name, in a table of builders of its own; it never imports a module. A global
not in the table is refused by name before anything is called; so are persistent ids, extension
codes, out-of-band buffers and the opcodes that create objects. Marks and tuples nest a few levels
at most, lists and dicts not at all, and dict keys are ``str``. BUILD is left to a subclass.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import CheckpointError

__all__ = ["Global", "PickleMachine", "Refused", "args_of", "describe", "run", "short"]

MAX_MARKS = 8  # the book's file nests three
MAX_DEPTH = 4  # tuples in tuples; a dict of arrays needs two
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_VALUES = {"BININT", "BININT1", "BININT2", "LONG1", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
           "SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8"}
_REFUSED = {"PERSID": "a persistent id", "BINPERSID": "a persistent id", "EXT1": "an extension registry code",
            "EXT2": "an extension registry code", "EXT4": "an extension registry code",
            "NEXT_BUFFER": "an out-of-band buffer", "READONLY_BUFFER": "an out-of-band buffer",
            "OBJ": "an object created by OBJ", "NEWOBJ": "an object created by NEWOBJ",
            "NEWOBJ_EX": "an object created by NEWOBJ_EX"}


class Refused(Exception):
    """What the pickle holds that is refused, in words (:func:`run` adds the file and the position)."""


class Global:
    """A global the machine allows: its name, and the builder REDUCE calls with the arguments tuple (None: not callable)."""

    __slots__ = ("name", "build")

    def __init__(self, name: str, build: Callable[[tuple], Any] | None) -> None:
        self.name, self.build = name, build


def describe(value: Any) -> str:
    """What ``value`` is, in words, without its repr (which a hostile pickle could make huge or deep)."""
    if isinstance(value, Global):
        return f"the global {value.name}"
    if isinstance(value, np.ndarray):
        return "an array"
    what = getattr(type(value), "WHAT", None)
    if isinstance(what, str):
        return what
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiouAEIOU' else 'a'} {name}"


def short(text: str, limit: int = 80) -> str:
    """``text``, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}..."


def args_of(args: Any, n: int, what: str) -> tuple:
    """``args`` if it is a tuple of ``n`` items; :class:`Refused` otherwise."""
    if type(args) is not tuple or len(args) != n:
        raise Refused(f"{what} is {describe(args)} of length {len(args) if type(args) is tuple else '-'}, expected {n} items")
    return args


class PickleMachine:
    """The pickle machine: a stack, marks and a memo, fed one opcode at a time; globals only from ``table``.

    Parameters
    ----------
    table : dict of str to Global
        The globals a pickle may name (``"module.name"``, as Python 3 names them).
    allowed : str
        Those globals in words, for the message that refuses another.
    """

    def __init__(self, table: dict[str, Global], allowed: str) -> None:
        self.table, self.allowed = table, allowed
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.protocol = 0
        self.depths: dict[int, int] = {}  # id of each tuple made -> how deep tuples nest in it
        self.tuples: list[tuple] = []  # keeps those ids valid

    def step(self, name: str, arg: Any) -> None:
        """Run one opcode."""
        if name in _CONSTANTS:
            self.stack.append(_CONSTANTS[name])
        elif name in _VALUES:
            self.stack.append(arg)
        elif name in ("MEMOIZE", "BINPUT", "LONG_BINPUT"):
            self.memo[len(self.memo) if name == "MEMOIZE" else arg] = self._top()
        elif name in ("BINGET", "LONG_BINGET"):
            if arg not in self.memo:
                raise Refused(f"the pickle is malformed: memo entry {arg} is used before it is set")
            self.stack.append(self.memo[arg])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            self.stack.append(self._global(*(arg.split(" ", 1) if name == "GLOBAL" else self._pop(2))))
        elif name == "PROTO":
            if not 2 <= arg <= 5:
                raise Refused(f"is a protocol {arg} pickle; pickles of protocol 2 to 5 are read")
            self.protocol = arg
        elif name != "FRAME":  # frames only group opcodes
            self._structure(name, arg)

    def _structure(self, name: str, arg: Any) -> None:
        """Opcodes that build containers, call builders or set state."""
        if name == "MARK":
            if len(self.marks) >= MAX_MARKS:
                raise Refused(f"marks nest deeper than {MAX_MARKS} levels; a dict of arrays needs three")
            self.marks.append(self.stack)
            self.stack = []
        elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
            self.stack.append({} if name == "EMPTY_DICT" else [] if name == "EMPTY_LIST" else ())
        elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
            made = self._tuple(self._pop_mark() if name == "TUPLE" else self._pop(int(name[-1])))
            self.stack.append(made)  # after _pop_mark, which replaces self.stack
        elif name in ("SETITEM", "SETITEMS", "APPEND", "APPENDS"):
            self._fill(name, self._pop_mark() if name.endswith("S") else self._pop(2 if name == "SETITEM" else 1))
        elif name == "REDUCE":
            (args,) = self._pop(1)
            self.stack[-1] = self._call(self._top(), args)
        elif name == "BUILD":
            (state,) = self._pop(1)
            self.build(self._top(), state)
        elif name == "INST":
            raise Refused(self._refusal(*arg.split(" ", 1)) + " (INST)")
        else:
            raise Refused(f"refuses {_REFUSED.get(name, f'the opcode {name}')}: the file may hold only {self.allowed}")

    def build(self, target: Any, state: Any) -> None:
        """BUILD: give ``target`` its ``state``; a subclass allows it for its own objects."""
        raise Refused(f"sets the state of {describe(target)}")

    def _top(self) -> Any:
        if not self.stack:
            raise Refused("the pickle is malformed: its stack is empty")
        return self.stack[-1]

    def _pop(self, n: int) -> list[Any]:
        if len(self.stack) < n:
            raise Refused("the pickle is malformed: its stack holds too few items")
        items = self.stack[-n:]
        del self.stack[-n:]
        return items

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise Refused("the pickle is malformed: no mark to return to")
        items, self.stack = self.stack, self.marks.pop()
        return items

    def _tuple(self, items: list[Any]) -> tuple:
        """``items`` as a tuple, refused if it holds a list or dict or nests tuples too deeply."""
        _refuse_nested(items)
        depth = 1 + max((self.depths.get(id(i), 0) for i in items if type(i) is tuple), default=0)
        if depth > MAX_DEPTH:
            raise Refused(f"tuples nest deeper than {MAX_DEPTH} levels; a dict of arrays needs two")
        made = tuple(items)
        self.depths[id(made)] = depth
        self.tuples.append(made)
        return made

    def _fill(self, name: str, items: list[Any]) -> None:
        """SETITEM(S) into a dict, APPEND(S) to a list: the items, checked."""
        target = self._top()
        _refuse_nested(items)
        if name.startswith("APPEND") and type(target) is list:
            target.extend(items)
            return
        if type(target) is not dict or name.startswith("APPEND") or len(items) % 2:
            raise Refused(f"the pickle is malformed: {name} into {describe(target)}")
        for key, value in zip(items[::2], items[1::2]):
            if type(key) is not str:
                raise Refused(f"has a key that is {describe(key)}; names are str")
            target[key] = value

    def _global(self, module: Any, name: Any) -> Global:
        if type(module) is not str or type(name) is not str:
            raise Refused(f"names a global with {describe(module)} and {describe(name)} instead of two strings")
        found = self.table.get(self._python3(module, name))
        if found is None:
            raise Refused(self._refusal(module, name))
        return found

    def _python3(self, module: str, name: str) -> str:
        """``module.name`` as ``pickle`` reads it: protocols 2 and below may use Python 2's names (``__builtin__``)."""
        if self.protocol < 3:
            module, name = _compat_pickle.NAME_MAPPING.get((module, name),
                                                           (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
        return f"{module}.{name}"

    def _refusal(self, module: str, name: str) -> str:
        full, written = self._python3(module, name), f"{module}.{name}"
        also = "" if full == written else f" (written {short(written)})"
        return (f"refuses the global {short(full)}{also}: the file may name only {self.allowed}, and pickle.load "
                "would import and call it: do not load this file with pickle either")

    @staticmethod
    def _call(func: Any, args: Any) -> Any:
        if not isinstance(func, Global) or func.build is None:
            raise Refused(f"calls {describe(func)}, which is not a builder it may call")
        if type(args) is not tuple:
            raise Refused(f"calls {func.name} with {describe(args)} for arguments")
        return func.build(args)

    def finish(self) -> Any:
        """The value the pickle made (a subclass checks it)."""
        if self.marks or len(self.stack) != 1:
            raise Refused("the pickle is malformed: it stops with marks or extra items left")
        return self.stack[0]


def _refuse_nested(items: list[Any]) -> None:
    for item in items:
        if isinstance(item, (list, dict)):
            raise Refused(f"holds {describe(item)} inside another container; only one flat dict or list is read")


def run(machine: PickleMachine, data: bytes, source: str) -> Any:
    """``machine.finish()`` after feeding it the opcodes of ``data``; every failure a CheckpointError naming ``source``."""
    stream, pos = io.BytesIO(data), 0
    try:
        for op, arg, at in pickletools.genops(stream):
            pos = at or 0
            if op.name == "STOP":
                break
            machine.step(op.name, arg)
        result = machine.finish()
    except Refused as exc:
        raise CheckpointError(f"{source}: {exc} (at byte {pos})") from None
    except Exception as exc:  # genops' ValueErrors (truncated, unknown opcode, bad text) and anything unforeseen
        text = short(" ".join(str(exc).split()), 200)
        raise CheckpointError(f"{source}: not a readable pickle (at byte {pos}): {type(exc).__name__}: {text}") from None
    if stream.tell() != len(data):
        raise CheckpointError(f"{source}: has {len(data) - stream.tell()} bytes after the pickle's end; the file is corrupt")
    return result
