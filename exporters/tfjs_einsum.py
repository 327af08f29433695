"""Einsum as Transpose + BatchMatMulV2 (+ Reshape): TF.js's wasm backend has no Einsum kernel.

Keras's attention layers (MultiHeadAttention, GroupQueryAttention) contract with "BTNH,BSNH->BNTS"
and "BNTS,BSNH->BTNH"; EinsumDense, attention over several axes and older Keras versions use others
("abc,cde->abde", "aecd,abcd->acbe", ...). Every two-operand equation whose letters each appear once
per operand and never only in one input is a batched matrix product: batch letters (in both inputs
and the output), contracted letters (in both inputs only) and each input's free letters (in it and
the output). A product of the same numbers, summed over the same axis, so parity proves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from exporters.tfjs_model import TfjsGraph, attr_text, concat_vectors, reshape, shape_slice, transpose
from toolkit.errors import UnsupportedOpError


@dataclass(frozen=True)
class Contraction:
    a: str  # letters of the first operand
    b: str
    out: str
    batch: str  # in both inputs and the output, in output order
    free_a: str  # only in `a` and the output, in output order
    free_b: str
    contracted: str  # in both inputs, not the output, in `a`'s order

    @property
    def one_letter_groups(self) -> bool:
        """Every group but the batch is one axis: the inputs are matrices already, no Reshape needed."""
        return len(self.free_a) == len(self.free_b) == len(self.contracted) == 1


def parse_equation(equation: str, where: str) -> Contraction:
    """The contraction an equation describes, or UnsupportedOpError naming the equation."""
    text = equation.replace(" ", "")
    operands, arrow, out = text.partition("->")
    parts = operands.split(",")
    if "." in text or not arrow or len(parts) != 2 or any(len(set(p)) != len(p) for p in (*parts, out)):
        raise _unsupported(equation, where)
    a, b = parts
    contracted = "".join(c for c in a if c in b and c not in out)
    if set(a) | set(b) != set(out) | set(contracted):  # a letter summed out of one input, or an output letter from nowhere
        raise _unsupported(equation, where)
    return Contraction(a, b, out, batch="".join(c for c in out if c in a and c in b),
                       free_a="".join(c for c in out if c in a and c not in b),
                       free_b="".join(c for c in out if c in b and c not in a), contracted=contracted)


def _unsupported(equation: str, where: str) -> UnsupportedOpError:
    return UnsupportedOpError(
        f"tfjs: op Einsum with equation '{equation}' at {where}: TF.js's wasm backend has no Einsum kernel, and no "
        "exact rewrite applies (only two operands with no ellipsis, no letter repeated in an operand and none summed "
        "out of a single input can become Transpose/BatchMatMul/Reshape)"
    )


def rewrite_einsums(graph: TfjsGraph) -> list[str]:
    """Every Einsum node -> Transpose/Reshape/BatchMatMulV2 nodes, the last one under the Einsum's name."""
    rewrites = []
    for node in [n for n in graph.nodes if n["op"] == "Einsum"]:
        equation = attr_text(node, "equation")
        plan = parse_equation(equation, node["name"])
        graph.remove(node)
        _emit(graph, node, plan)
        rewrites.append(f"tfjs: Einsum '{equation}' computed as Transpose + BatchMatMul"
                        f"{'' if plan.one_letter_groups else ' + Reshape'} (TF.js wasm has no Einsum kernel) at {node['name']}")
    return rewrites


def _emit(graph: TfjsGraph, node: dict, plan: Contraction) -> None:
    name, dt = node["name"], node["attr"]["T"]["type"]
    a_in, b_in = [i for i in node["input"] if not i.startswith("^")]
    batch, free_a, free_b, contracted = plan.batch, plan.free_a, plan.free_b, plan.contracted
    # [batch..., free_a..., contracted...] x [batch..., contracted..., free_b...]
    a = transpose(graph, f"{name}/a", a_in, [plan.a.index(c) for c in batch + free_a + contracted], dt)
    b = transpose(graph, f"{name}/b", b_in, [plan.b.index(c) for c in batch + contracted + free_b], dt)
    if b == b_in and _used_elsewhere(graph, b_in):
        b = graph.add(f"{name}/b_copy", "Mul", [b_in, graph.const(1.0, "float32")], T={"type": dt})
    order = batch + free_a + free_b  # the product's axes
    last = plan.out == order and plan.one_letter_groups
    if not plan.one_letter_groups:  # merge each group into one axis: [batch..., A, C] x [batch..., C, B]
        nb, na, nc = len(batch), len(free_a), len(contracted)
        a_matrix = _merged(graph, f"{name}/a_matrix", a, dt, nb, [na, nc])
        b_matrix = _merged(graph, f"{name}/b_matrix", b, dt, nb, [nc, len(free_b)])
        product = graph.add(f"{name}/matmul", "BatchMatMulV2", [a_matrix, b_matrix], T={"type": dt})
        result = reshape(graph, name if plan.out == order else f"{name}/product", product,
                         _product_shape(graph, name, a, b, nb + na, nb + nc, bool(free_b)), dt)
    else:
        result = graph.add(name if last else f"{name}/matmul", "BatchMatMulV2", [a, b], T={"type": dt})
    if plan.out != order:
        perm = [order.index(c) for c in plan.out]
        graph.add(name, "Transpose", [result, graph.const(perm, "int32")], T={"type": dt}, Tperm={"type": "DT_INT32"})


def _used_elsewhere(graph: TfjsGraph, tensor: str) -> bool:
    """Whether another node (the Einsum itself is removed already) reads `tensor`.

    At batch 1, TF.js wasm's BatchMatMul caches an XNNPACK operator per right-hand buffer, whatever its
    shape: the buffer reused as a right operand of another shape (a Reshape shares it) gets the cached
    operator, and wrong values or a crash. x*1 (exact) gives this product a buffer of its own.
    """
    key = tensor if ":" in tensor else tensor + ":0"
    return any((i if ":" in i else i + ":0") == key for n in graph.nodes for i in n.get("input", []))


def _product_shape(graph: TfjsGraph, name: str, a: str, b: str, a_dims: int, b_start: int, b_free: bool) -> str:
    """[a's batch and free dims..., b's free dims...]: the product's shape before the groups were merged."""
    parts = [shape_slice(graph, f"{name}/a_shape", a, 0, a_dims)] if a_dims else []
    parts += [shape_slice(graph, f"{name}/b_shape", b, b_start, None)] if b_free else []
    if not parts:  # a full contraction ("i,i->"): a scalar
        return graph.const(np.zeros(0), "int32")
    return parts[0] if len(parts) == 1 else concat_vectors(graph, f"{name}/product_shape", parts)


def _merged(graph: TfjsGraph, name: str, tensor: str, dt: str, batch: int, groups: list[int]) -> str:
    """`tensor` reshaped to [its first `batch` dims..., product of each group of the next dims...]."""
    parts = [shape_slice(graph, f"{name}/shape", tensor, 0, batch)] if batch else []
    start = batch
    for size in groups:
        if size == 0:
            parts.append(graph.const([1], "int32"))  # a missing group is an axis of length 1
        else:
            dims = shape_slice(graph, f"{name}/shape", tensor, start, start + size)
            parts.append(graph.add(f"{dims}/prod", "Prod", [dims, graph.const([0], "int32")], T={"type": "DT_INT32"},
                                   Tidx={"type": "DT_INT32"}, keep_dims={"b": True}))
        start += size
    return reshape(graph, name, tensor, concat_vectors(graph, f"{name}/dims", parts), dt)
