"""BDD backend: compile the whole model once into a binary decision diagram (CUDD).

Each variable is log-encoded on ``ceil(log2 |domain|)`` Boolean levels kept
contiguous (a *block*, grouped so CUDD's dynamic reordering moves it as a
whole); codes past the domain size are excluded. Every table becomes the
disjunction of its rows' cubes and all of them are conjoined, starting from a
variable order chosen by the FORCE heuristic (variables that share tables end
up close) and letting CUDD sift blocks while it compiles.

A query restricts the diagram by the assignment (one CUDD cofactor) and then
walks it once: a value of a variable is valid iff some path of the restricted
diagram agrees with it. Paths are enumerated inside each block from the nodes
where they enter it; a block that an edge jumps over entirely is unconstrained
on that path, so all its values are valid. The cost of a step is therefore
linear in the size of the *restricted* diagram, which shrinks with every
choice; the empty assignment is answered once and cached.

The compiled form can be exported and re-imported as bytes
(:meth:`BddBackend.dump`, :meth:`BddBackend.load`) so that a shell may cache
it on disk; this module itself never touches files.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import dd.cudd as cudd

from configurator.backends.base import Assignment
from configurator.errors import BackendError
from configurator.model import IndexedModel

_CACHE = 64
_MAGIC = b"TARIF-BDD-2\n"


def _bits(size: int) -> int:
    return (size - 1).bit_length()


def force_order(model: IndexedModel, iterations: int = 40) -> list[int]:
    """A variable order where variables sharing tables are close (FORCE, Aloul et al. 2003).

    Each round moves every variable to the mean of the centres of gravity of
    its tables; ties keep the previous order, so the result is deterministic.
    """
    n = len(model.names)
    position = {v: float(v) for v in range(n)}
    scopes = [t.scope for t in model.tables if len(t.scope) > 1]
    if not scopes:
        return list(range(n))
    best = list(range(n))
    best_span = _span(best, scopes)
    for _ in range(iterations):
        sums = [0.0] * n
        counts = [0] * n
        for scope in scopes:
            centre = sum(position[v] for v in scope) / len(scope)
            for v in scope:
                sums[v] += centre
                counts[v] += 1
        order = sorted(range(n), key=lambda v: (sums[v] / counts[v] if counts[v]
                                                else position[v], position[v]))
        position = {v: float(i) for i, v in enumerate(order)}
        span = _span(order, scopes)
        if span < best_span:
            best, best_span = order, span
    return best


def _span(order: list[int], scopes: list[tuple[int, ...]]) -> int:
    at = {v: i for i, v in enumerate(order)}
    return sum(max(at[v] for v in s) - min(at[v] for v in s) for s in scopes)


class BddSolver:
    """A compiled diagram plus its block layout; answers queries by one traversal each."""

    def __init__(self, model: IndexedModel, bdd: cudd.BDD, root: Any) -> None:
        self._model = model
        self._sizes = model.sizes
        self._n = len(self._sizes)
        self._bdd = bdd
        self._root = root
        self._false = int(bdd.false)
        self._bit_names: list[list[str]] = [[f"b{v}_{j}" for j in range(_bits(size))]
                                            for v, size in enumerate(self._sizes)]
        # The layout is read from the manager: reordering may have moved blocks and
        # permuted bits inside a block, but grouping keeps each block contiguous.
        levels = sum(len(b) for b in self._bit_names)
        self._bit_of_level: list[int] = [0] * levels
        var_of_level: list[int] = [0] * levels
        for v, names in enumerate(self._bit_names):
            at = [bdd.level_of_var(name) for name in names]
            if at and max(at) - min(at) != len(at) - 1:
                raise BackendError(f"the bits of variable {v} are not contiguous in the BDD")
            for j, level in enumerate(at):
                self._bit_of_level[level] = j
                var_of_level[level] = v
        self._block_var: list[int] = []
        self._block_of_level: list[int] = []
        for level in range(levels):
            if level == 0 or var_of_level[level] != var_of_level[level - 1]:
                self._block_var.append(var_of_level[level])
            self._block_of_level.append(len(self._block_var) - 1)
        self.level_layout: list[tuple[int, int]] = [
            (var_of_level[level], self._bit_of_level[level]) for level in range(levels)]
        self._levels = len(self._block_of_level)
        self._full = model.full_masks()
        self._true = int(bdd.true)
        self._bit_count = [len(b) for b in self._bit_names]
        self._patterns: list[dict[tuple[int, int], int]] = [{} for _ in self._sizes]
        self._cache: OrderedDict[frozenset[tuple[int, int]], tuple[int, ...]] = OrderedDict()

    @property
    def node_count(self) -> int:
        """Nodes of the compiled diagram (for the benchmark's report)."""
        return int(self._root.dag_size)

    def _cofactor(self, assignment: Assignment) -> Any:
        values: dict[str, bool] = {}
        for v, k in assignment.items():
            names = self._bit_names[v]
            width = len(names)
            for j, name in enumerate(names):
                values[name] = bool(k >> (width - 1 - j) & 1)
        return self._bdd.let(values, self._root) if values else self._root

    def valid_domains(self, assignment: Assignment) -> tuple[int, ...]:
        """Exact valid domains: one traversal of the restricted diagram."""
        key = frozenset(assignment.items())
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        for v, k in assignment.items():
            if not 0 <= k < self._sizes[v]:
                return (0,) * self._n
        u = self._cofactor(assignment)
        result = (0,) * self._n if int(u) == self._false else self._traverse(u, assignment)
        self._cache[key] = result
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return result

    def _traverse(self, u: Any, assignment: Assignment) -> tuple[int, ...]:
        """Valid values of every variable on the restricted diagram ``u`` (not false).

        Stack items are (node, parity): the function ``node XOR parity``; CUDD's
        ``low``/``high`` give the regular node's children, so complement bits are
        folded into the parity instead of creating negated copies.
        """
        levels = self._levels
        block_of_level = self._block_of_level
        bit_of_level = self._bit_of_level
        block_var = self._block_var
        bit_count = self._bit_count
        patterns = self._patterns
        true = self._true
        nblocks = len(block_var)
        masks = [0] * self._n
        cover = [0] * (nblocks + 1)
        top = u.level
        cover[0] += 1
        cover[block_of_level[top] if top < levels else nblocks] -= 1
        entries = [(u, 0)] if top < levels else []
        seen = {(int(u), 0)}
        while entries:
            entry = entries.pop()
            block = block_of_level[entry[0].level]
            var = block_var[block]
            width = bit_count[var]
            full = (1 << width) - 1
            pattern = patterns[var]
            stack = [(entry[0], entry[1], 0, 0)]
            found = masks[var]
            while stack:
                node, parity, value, fixed = stack.pop()
                level = node.level
                if level >= levels or block_of_level[level] != block:
                    if fixed == full:
                        found |= 1 << value
                    else:
                        key = (value, fixed)
                        codes = pattern.get(key)
                        if codes is None:
                            codes = pattern[key] = self._codes(var, value, fixed)
                        found |= codes
                    if level < levels:
                        cover[block + 1] += 1
                        cover[block_of_level[level]] -= 1
                        ident = (int(node), parity)
                        if ident not in seen:
                            seen.add(ident)
                            entries.append((node, parity))
                    else:
                        cover[block + 1] += 1
                        cover[nblocks] -= 1
                    continue
                bit = 1 << (width - 1 - bit_of_level[level])
                parity ^= node.negated
                low, high = node.low, node.high
                for child, child_value in ((low, value), (high, value | bit)):
                    # a constant is TRUE xor parity: skip the false one
                    if child.level >= levels and (int(child) == true) == bool(parity):
                        continue
                    stack.append((child, parity, child_value, fixed | bit))
            masks[var] = found
        running = 0
        for b in range(nblocks):
            running += cover[b]
            if running > 0:
                masks[block_var[b]] = self._full[block_var[b]]
        for v in range(self._n):
            if not bit_count[v]:
                masks[v] = 1
        for v, k in assignment.items():
            masks[v] = 1 << k
        return tuple(masks)

    def _codes(self, var: int, value: int, fixed: int) -> int:
        found = 0
        for code in range(self._sizes[var]):
            if code & fixed == value:
                found |= 1 << code
        return found

    def find_solution(self, assignment: Assignment) -> tuple[int, ...] | None:
        """A solution extending ``assignment`` (read off one path of the diagram)."""
        if any(not 0 <= k < self._sizes[v] for v, k in assignment.items()):
            return None
        u = self._cofactor(assignment)
        if int(u) == self._false:
            return None
        care = [name for v in range(self._n) if v not in assignment
                for name in self._bit_names[v]]
        picked = self._bdd.pick(u, care_vars=care) or {}
        out = []
        for v in range(self._n):
            if v in assignment:
                out.append(assignment[v])
                continue
            code = 0
            for name in self._bit_names[v]:
                code = code << 1 | int(bool(picked.get(name, False)))
            out.append(code)
        return tuple(out)


class BddBackend:
    """Registered as ``"bdd"``: slow to compile (seconds), then a traversal per step."""

    name = "bdd"

    @staticmethod
    def _manager(layout: Sequence[tuple[int, int]]) -> cudd.BDD:
        """A CUDD manager with the bits declared level by level, reordering off."""
        bdd = cudd.BDD()
        bdd.configure(reordering=False)
        for v, j in layout:
            bdd.add_var(f"b{v}_{j}")
        return bdd

    @staticmethod
    def _code(bdd: cudd.BDD, v: int, size: int, k: int) -> dict[str, bool]:
        width = _bits(size)
        return {f"b{v}_{j}": bool(k >> (width - 1 - j) & 1) for j in range(width)}

    def compile(self, model: IndexedModel) -> BddSolver:
        """Conjoin every table (and the domain bounds) into one diagram."""
        order = force_order(model)
        bdd = self._manager([(v, j) for v in order for j in range(_bits(model.sizes[v]))])
        for v in order:   # keep each variable's bits together when CUDD reorders
            if _bits(model.sizes[v]) >= 2:
                bdd.group({f"b{v}_0": _bits(model.sizes[v])})
        bdd.configure(reordering=True)
        at = {v: i for i, v in enumerate(order)}
        root = bdd.true
        for v in order:
            size = model.sizes[v]
            if size > 1 and size & (size - 1):
                domain = bdd.false
                for k in range(size):
                    domain |= bdd.cube(self._code(bdd, v, size, k))
                root &= domain
        tables = sorted(model.tables, key=lambda t: (max(at[v] for v in t.scope),
                                                     min(at[v] for v in t.scope)))
        for table in tables:
            rows = sorted(table.tuples, key=lambda row: [
                k for _, k in sorted(zip((at[v] for v in table.scope), row, strict=True))])
            relation = bdd.false
            for row in rows:
                cube: dict[str, bool] = {}
                for v, k in zip(table.scope, row, strict=True):
                    cube.update(self._code(bdd, v, model.sizes[v], k))
                relation |= bdd.cube(cube)
            root &= relation if table.allowed else ~relation
            if root == bdd.false:
                break
        bdd.configure(reordering=False)
        return BddSolver(model, bdd, root)

    # -- bytes, for caches kept by the shell ---------------------------------------------
    def dump(self, solver: BddSolver) -> bytes:
        """The compiled diagram as bytes: the order, then nodes bottom-up (no pickle)."""
        bdd, root = solver._bdd, solver._root
        index: dict[int, int] = {int(bdd.true) & ~1: 0}
        nodes: list[tuple[int, int, int]] = []

        def ref(f: Any) -> int:
            return index[int(f) & ~1] << 1 | (1 if f.negated else 0)

        stack = [(root, False)]
        while stack:
            f, expanded = stack.pop()
            key = int(f) & ~1
            if key in index:
                continue
            if not expanded:
                stack.append((f, True))
                stack.append((f.low, False))
                stack.append((f.high, False))
                continue
            nodes.append((f.level, ref(f.low), ref(f.high)))
            index[key] = len(nodes)
        layout = solver.level_layout
        header = struct.pack("<III", len(solver._sizes), len(layout), len(nodes))
        body = b"".join(struct.pack("<II", v, j) for v, j in layout)
        body += b"".join(struct.pack("<IQQ", *node) for node in nodes)
        body += struct.pack("<Q", ref(root))
        sizes = struct.pack(f"<{len(solver._sizes)}I", *solver._sizes)
        return _MAGIC + header + sizes + body

    def load(self, model: IndexedModel, data: bytes) -> BddSolver:
        """Rebuild a diagram dumped by :meth:`dump` for the same model (checked)."""
        if not data.startswith(_MAGIC):
            raise BackendError("not a compiled BDD of this version")
        offset = len(_MAGIC)
        n, levels, count = struct.unpack_from("<III", data, offset)
        offset += 12
        sizes = struct.unpack_from(f"<{n}I", data, offset)
        offset += 4 * n
        if tuple(sizes) != model.sizes:
            raise BackendError("the compiled BDD was made for another model")
        layout = [struct.unpack_from("<II", data, offset + 8 * i) for i in range(levels)]
        offset += 8 * levels
        bdd = self._manager(layout)
        built: list[Any] = [bdd.true]
        names = [bdd.var_at_level(level) for level in range(len(bdd.vars))]

        def deref(r: int) -> Any:
            f = built[r >> 1]
            return ~f if r & 1 else f

        for _ in range(count):
            level, low, high = struct.unpack_from("<IQQ", data, offset)
            offset += 20
            built.append(bdd.ite(bdd.var(names[level]), deref(high), deref(low)))
        (root,) = struct.unpack_from("<Q", data, offset)
        return BddSolver(model, bdd, deref(root))
