"""MNT008 UnpicklableDataset: a Dataset whose `__init__` stores something that cannot be pickled."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import ClassVar

from maintenance.codemods.base import AstFinding, AstRule, FileContext, Invalid, dotted_name
from maintenance.codemods.class_hierarchy import ModuleClasses, ProjectLookup, report_only

DATASET_ROOTS = frozenset(
    {
        "torch.utils.data.Dataset",
        "torch.utils.data.IterableDataset",
        "torch.utils.data.dataset.Dataset",
        "torch.utils.data.dataset.IterableDataset",
        "torch.utils.data.TensorDataset",
        "torch_geometric.data.Dataset",
        "torch_geometric.data.InMemoryDataset",
        "torch_geometric.data.dataset.Dataset",
        "torch_geometric.data.in_memory_dataset.InMemoryDataset",
        "torchvision.datasets.VisionDataset",
        "torchvision.datasets.vision.VisionDataset",
    }
)
# qualified call -> what it makes (pickle refuses each of these)
UNPICKLABLE_CALLS: dict[str, str] = {
    "threading.Lock": "a thread lock",
    "threading.RLock": "a thread lock",
    "threading.Condition": "a condition variable (it holds a lock)",
    "threading.Event": "an event (it holds a lock)",
    "threading.Semaphore": "a semaphore (it holds a lock)",
    "threading.BoundedSemaphore": "a semaphore (it holds a lock)",
    "threading.Barrier": "a barrier (it holds a lock)",
    "_thread.allocate_lock": "a thread lock",
    "queue.Queue": "a queue (it holds a lock)",
    "queue.LifoQueue": "a queue (it holds a lock)",
    "queue.PriorityQueue": "a queue (it holds a lock)",
    "concurrent.futures.ThreadPoolExecutor": "a thread pool",
    "concurrent.futures.ProcessPoolExecutor": "a process pool",
    "multiprocessing.Pool": "a process pool",
    "builtins.open": "an open file",
    "open": "an open file",
    "io.open": "an open file",
    "gzip.open": "an open file",
    "bz2.open": "an open file",
    "lzma.open": "an open file",
    "tarfile.open": "an open archive",
    "zipfile.ZipFile": "an open archive",
    "tempfile.TemporaryFile": "an open file",
    "tempfile.NamedTemporaryFile": "an open file",
    "mmap.mmap": "a memory map",
    "sqlite3.connect": "a database connection",
    "socket.socket": "a socket",
    "socket.create_connection": "a socket",
    "h5py.File": "an open HDF5 file",
    "lmdb.open": "an LMDB environment",
}
PICKLE_HOOKS = frozenset({"__getstate__", "__reduce__", "__reduce_ex__"})


class UnpicklableDataset(AstRule):
    """A `Dataset` whose `__init__` stores an object that cannot be pickled, with no `__getstate__`.

    ## What it does
    Finds subclasses of `torch.utils.data.Dataset` / `IterableDataset` (also torch_geometric's and
    torchvision's datasets), directly or through classes of the project, whose `__init__` sets
    `self.<name>` to a lock (`threading.Lock/RLock/Condition/Event/Semaphore`, a `queue.Queue`), an open
    file (`open`, `gzip.open`, `h5py.File`, `zipfile.ZipFile`, ...), a connection (`sqlite3.connect`,
    a socket, `lmdb.open`), a thread or process pool, a generator, a lambda or a function defined inside
    `__init__`, while neither the class nor a base of the project defines `__getstate__`, `__reduce__`
    or `__reduce_ex__`.

    ## Why is this bad?
    `DataLoader(num_workers > 0)` sends the dataset to each worker process by pickling it under the
    spawn and forkserver start methods (the default on macOS and Windows, and the only safe one with
    CUDA): the loader fails with `TypeError: cannot pickle '_thread.lock' object`. Under fork the
    object is copied instead: a lock held at that moment stays held in the worker, which deadlocks,
    and an open file's offset is shared between processes. A `Dataset` that guards its cache with a
    `threading.Lock` is the usual case.

    ## Example
    ```python
    class Panel(Dataset):
        def __init__(self, path):
            self.path = path
            self._lock = threading.Lock()
    ```

    ## Use instead
    ```python
    class Panel(Dataset):
        def __init__(self, path):
            self.path = path
            self._lock = threading.Lock()

        def __getstate__(self):
            state = self.__dict__.copy()
            del state["_lock"]  # each worker makes its own
            return state

        def __setstate__(self, state):
            self.__dict__.update(state)
            self._lock = threading.Lock()
    ```
    (or create the object lazily, in `__getitem__` or a `worker_init_fn`).

    ## Fix safety
    Report only: what the worker should get instead (a fresh lock, a reopened file, nothing) is the
    author's decision. Objects created lazily outside `__init__`, class attributes (not pickled with the
    instance) and `multiprocessing` locks (made to be inherited by worker processes) are not reported.
    """

    CODE: ClassVar[str] = "MNT008"
    NAME: ClassVar[str] = "UnpicklableDataset"
    FIX_TITLE: ClassVar[str] = "Drop the attribute in `__getstate__`, or create it lazily in the worker"
    FIX_SAFETY = "none"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("Dataset",)
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True

    INVALID = (
        Invalid(
            "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
            "    def __init__(self, path):\n        self.path = path\n        self._lock = threading.Lock()\n"
        ),
        Invalid(
            "import threading\nimport torch\n\n\nclass Panel(torch.utils.data.Dataset):\n"
            "    def __init__(self):\n        self.cond = threading.Condition()\n"
        ),
        Invalid(
            "from threading import RLock\nfrom torch.utils.data import IterableDataset\n\n\n"
            "class Stream(IterableDataset):\n    def __init__(self):\n        self.lock = RLock()\n"
        ),
        Invalid(
            "from torch.utils.data import Dataset\n\n\nclass Lines(Dataset):\n    def __init__(self, path):\n"
            "        self.fh = open(path)\n"
        ),
        Invalid(
            "import sqlite3\nfrom torch.utils.data import Dataset\n\n\nclass Rows(Dataset):\n"
            "    def __init__(self, db):\n        self.conn = sqlite3.connect(db)\n"
        ),
        Invalid(
            "from torch.utils.data import Dataset\n\n\nclass Gen(Dataset):\n    def __init__(self, xs):\n"
            "        self.items = (x * 2 for x in xs)\n"
        ),
        Invalid(
            "from torch.utils.data import Dataset\n\n\nclass Mapped(Dataset):\n    def __init__(self, xs):\n"
            "        self.xs = xs\n        self.transform = lambda x: x * 2\n"
        ),
        Invalid(
            "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Base(Dataset):\n    pass\n\n\n"
            "class Cached(Base):\n    def __init__(self):\n        super().__init__()\n"
            "        self._ready = threading.Event()\n"
        ),
        Invalid(
            "import socket\nimport torch.utils.data as tud\n\n\nclass Remote(tud.Dataset):\n"
            "    def __init__(self, host):\n        self.sock = socket.create_connection((host, 80))\n"
        ),
        Invalid(
            "import h5py\nfrom torch.utils.data import Dataset\n\n\nclass H5(Dataset):\n"
            "    def __init__(self, path):\n        self.h5: h5py.File = h5py.File(path, 'r')\n"
        ),
        Invalid(
            "import queue\nfrom torch.utils.data import Dataset\n\n\nclass Prefetch(Dataset):\n"
            "    def __init__(self):\n        self.q = queue.Queue(maxsize=4)\n"
        ),
        Invalid(
            "from torch.utils.data import Dataset\n\n\nclass Walk(Dataset):\n    def __init__(self, xs):\n"
            "        self.it = self._walk(xs)\n\n    def _walk(self, xs):\n        yield from xs\n"
        ),
    )
    VALID = (
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        self._lock = threading.Lock()\n\n    def __getstate__(self):\n"
        "        state = self.__dict__.copy()\n        del state['_lock']\n        return state\n",
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        self._lock = None\n\n    def __getitem__(self, i):\n"
        "        if self._lock is None:\n            self._lock = threading.Lock()\n        return i\n",
        "import threading\n\n\nclass Cache:\n    def __init__(self):\n        self._lock = threading.Lock()\n",
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    _lock = threading.Lock()\n\n    def __init__(self):\n        self.n = 3\n",
        "import multiprocessing\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        self.lock = multiprocessing.Lock()\n",
        "from torch.utils.data import Dataset\n\n\nclass Lines(Dataset):\n    def __init__(self, path):\n"
        "        with open(path) as fh:\n            self.lines = fh.read().splitlines()\n",
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Base(Dataset):\n"
        "    def __reduce__(self):\n        return (type(self), ())\n\n\nclass Panel(Base):\n"
        "    def __init__(self):\n        self._lock = threading.Lock()\n",
        "from torch.utils.data import Dataset\n\n\nclass Items(Dataset):\n    def __init__(self, xs):\n"
        "        self.items = [x * 2 for x in xs]\n        self.transform = str.upper\n",
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        lock = threading.Lock()\n        with lock:\n            self.n = 3\n",
        "from torch.utils.data import Dataset\n\n\ndef open(path):\n    return path\n\n\nclass Lines(Dataset):\n"
        "    def __init__(self, path):\n        self.fh = open(path)\n",
        "import threading\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        self.n = 3\n\n    def worker_init(self, worker_id):\n"
        "        self._lock = threading.Lock()\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """The module names a dataset class and has an `__init__`."""
        return super().may_match(tree, source, context) and "__init__" in source

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Report-only: decided on `ast`, with base classes of other modules followed through the index."""
        return report_only(find_unpicklable_datasets(tree, ProjectLookup.of(context)), source)


def find_unpicklable_datasets(
    tree: ast.Module, lookup: ProjectLookup | None = None
) -> list[tuple[ast.stmt, str]]:
    """Every `self.<attr> = <unpicklable>` in the `__init__` of a Dataset of `tree` without pickle hooks.

    `lookup` follows base classes defined in other modules of the project (the project index).
    """
    classes = ModuleClasses.of(tree, lookup)
    local_functions = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    shadowed = set(local_functions) | {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    findings: list[tuple[ast.stmt, str]] = []
    for name, cls_node in classes.classes.items():
        if not classes.derives_from(name, DATASET_ROOTS):
            continue
        if classes.inherits_any(name, PICKLE_HOOKS):
            continue
        init = _method(cls_node, "__init__")
        if init is None:
            continue
        for stmt, target, value in _self_assignments(init):
            what = _unpicklable(value, classes.aliases, shadowed, cls_node, init, classes.lookup)
            if what is None:
                continue
            findings.append(
                (
                    stmt,
                    f"`{name}` is a Dataset and `__init__` stores {what} in `self.{target.attr}`, which cannot "
                    f"be pickled: `DataLoader(num_workers>0)` under spawn/forkserver fails to send it to the "
                    f"workers (under fork a held lock deadlocks them); create it lazily in `__getitem__` or a "
                    f"`worker_init_fn`, or drop it in `__getstate__`",
                )
            )
    return findings


def _method(cls_node: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for stmt in cls_node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            return stmt
    return None


def _self_assignments(
    init: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[tuple[ast.stmt, ast.Attribute, ast.expr]]:
    """(statement, `self.x` target, value) for every assignment to an attribute of the first parameter."""
    params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)]
    if not params:
        return
    self_name = params[0]
    stack: list[ast.AST] = list(init.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
                and value is not None
            ):
                yield node, target, value
        stack.extend(ast.iter_child_nodes(node))


def _unpicklable(
    value: ast.expr,
    aliases: dict[str, str],
    shadowed: set[str],
    cls_node: ast.ClassDef,
    init: ast.FunctionDef | ast.AsyncFunctionDef,
    lookup: ProjectLookup | None,
) -> str | None:
    """What `value` makes when pickle refuses it, else `None` (a generator method is known from the index)."""
    if isinstance(value, ast.Lambda):
        return "a lambda"
    if isinstance(value, ast.GeneratorExp):
        return "a generator"
    if isinstance(value, ast.Name) and any(
        isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == value.id
        for stmt in ast.walk(init)
    ):
        return f"the local function `{value.id}`"
    if not isinstance(value, ast.Call):
        return None
    name = dotted_name(value.func)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    if head in aliases:
        qualified = aliases[head] + ("." + rest if rest else "")
    elif head in shadowed:
        return None
    else:
        qualified = name
    if qualified in UNPICKLABLE_CALLS:
        return f"{UNPICKLABLE_CALLS[qualified]} (`{_short(value)}`)"
    if head == _self_name(init) and rest and "." not in rest and lookup is not None:
        method = lookup.method(cls_node.name, rest)
        if method is not None and method.is_generator:
            return f"a generator (`{_short(value)}`)"
    return None


def _self_name(init: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)]
    return params[0] if params else None


def _short(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 50 else text[:47] + "..."
