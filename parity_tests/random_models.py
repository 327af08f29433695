"""A hypothesis strategy for small random Keras models, Sequential and Functional DAGs.

`model_recipes()` draws a ModelRecipe: plain data (inputs, layers with their
arguments and operands, outputs, a weight seed) that builds the Keras model,
saves it as a .keras file, and prints itself as standalone Python for a
reproduction. Shapes are tracked while drawing, so every recipe builds; models
stay tiny (widths <= 16, inputs of a few hundred values at most) so one example
exports and checks in seconds. The grammar is described in docs/random_models.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

MAX_WIDTH = 16
MODEL_NAME = "random_model"
# Dense(activation=...) and Activation layers draw from these (None = linear).
ACTIVATIONS = ("relu", "gelu", "swish", "tanh", "sigmoid", "softmax", "elu", "selu", "softplus",
               "leaky_relu", "relu6", "hard_sigmoid", "mish")
INPUT_KINDS = ("vector", "sequence", "image", "tokens", "volume")
# Layers that return several tensors: the extra ones are "Output" nodes, named after the layer.
MULTI_OUTPUT = ("LSTM", "GRU", "MultiHeadAttention")


@dataclass(frozen=True)
class Node:
    """One tensor of the model: the Keras layer (or Input) that makes it, named like the layer."""

    name: str
    op: str  # "Input" or a keras.layers class name
    args: tuple = ()  # sorted (keyword, value) pairs
    inputs: tuple = ()  # names of the nodes it consumes
    shape: tuple = ()  # output shape without the batch dimension
    call_args: tuple = ()  # sorted (keyword, value) pairs of the layer call (use_causal_mask, ...)

    @property
    def kwargs(self) -> dict:
        return dict(self.args)


@dataclass(frozen=True)
class ModelRecipe:
    api: str  # "sequential" or "functional"
    nodes: tuple  # of Node, in build order
    outputs: tuple  # node names
    seed: int  # Keras initializers and the non-default weights

    @property
    def ops(self) -> list[str]:
        return [n.op for n in self.nodes if n.op not in ("Input", "Output")]

    def build(self):
        """The Keras model, with non-trivial weights (see give_weights)."""
        import keras

        keras.utils.set_random_seed(self.seed)
        namespace = {"keras": keras}
        exec(compile(self._graph_source(), f"<recipe {self.seed}>", "exec"), namespace)  # our own code text
        model = namespace["model"]
        give_weights(model, self.seed)
        return model

    def save(self, folder: Path) -> Path:
        path = Path(folder) / f"{MODEL_NAME}.keras"
        self.build().save(path)
        return path

    def source(self) -> str:
        """Standalone Python that builds and saves the same model: paste it to reproduce a finding."""
        return "\n".join([
            "import keras",
            "from parity_tests.random_models import give_weights",
            "",
            f"keras.utils.set_random_seed({self.seed})",
            self._graph_source(),
            f"give_weights(model, {self.seed})",
            f"model.save('{MODEL_NAME}.keras')",
        ])

    def _graph_source(self) -> str:
        lines = []
        if self.api == "sequential":
            layers = [_input_call(self.nodes[0])] + [_layer_call(n) for n in self.nodes[1:]]
            lines.append("model = keras.Sequential([\n" + "".join(f"    {c},\n" for c in layers) + f"], name='{MODEL_NAME}')")
            return "\n".join(lines)
        extra = {}  # layer name -> names of its further outputs, in order
        for node in self.nodes:
            if node.op == "Output":
                extra.setdefault(node.inputs[0], []).append(node.name)
        for node in self.nodes:
            if node.op == "Input":
                lines.append(f"{node.name} = {_input_call(node)}")
            elif node.op != "Output":
                targets = ", ".join([node.name, *extra.get(node.name, [])])
                lines.append(f"{targets} = {_layer_call(node)}({_operands(node)})")
        inputs = [n.name for n in self.nodes if n.op == "Input"]
        lines.append(f"model = keras.Model({_listed(inputs)}, {_listed(self.outputs)}, name='{MODEL_NAME}')")
        return "\n".join(lines)


def _operands(node: Node) -> str:
    """How a layer is called: one tensor, a list (merges), or query and value plus call keywords (attention)."""
    if node.op == "MultiHeadAttention":
        keywords = "".join(f", {key}={value!r}" for key, value in node.call_args)
        return f"{node.inputs[0]}, {node.inputs[1]}{keywords}"
    return node.inputs[0] if len(node.inputs) == 1 else "[" + ", ".join(node.inputs) + "]"


def _listed(names) -> str:
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


def _input_call(node: Node) -> str:
    dtype = node.kwargs.get("dtype", "float32")
    return f"keras.Input({tuple(node.shape)!r}, dtype='{dtype}', name='{node.name}')"


def _layer_call(node: Node) -> str:
    args = "".join(f"{key}={value!r}, " for key, value in node.args)
    return f"keras.layers.{node.op}({args}name='{node.name}')"


def give_weights(model, seed: int) -> None:
    """Non-default values for what Keras initializes to constants (biases, norms, moving statistics).

    Kernels already come from the seeded initializers; zero biases, unit gammas and a
    BatchNormalization at mean 0 / variance 1 would hide errors in those parameters.
    """
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        name = weight.path.rsplit("/", 1)[-1]
        shape = tuple(weight.shape)
        if name == "moving_variance":
            value = rng.uniform(0.5, 2.0, shape)
        elif name == "gamma":
            value = rng.uniform(0.5, 1.5, shape)
        elif name in ("bias", "beta", "moving_mean"):
            value = rng.normal(0.0, 0.5, shape)
        else:
            continue
        weight.assign(value.astype(weight.dtype))


def layer(name: str, op: str, *inputs: str, **args) -> Node:
    """A hand-written Node (for explicit examples); its shape is left to Keras."""
    return Node(name, op, tuple(sorted(args.items())), inputs)


def model_input(name: str, shape: tuple, dtype: str = "float32") -> Node:
    return Node(name, "Input", (("dtype", dtype),) if dtype != "float32" else (), (), tuple(shape))


def gelu_feeds_relu(recipe: ModelRecipe) -> bool:
    """A layer with exact gelu whose output goes straight into Activation("relu"/"relu6") (finding F5)."""
    gelu = {n.name for n in recipe.nodes if n.kwargs.get("activation") == "gelu"}
    return any(n.op == "Activation" and n.kwargs["activation"] in ("relu", "relu6") and set(n.inputs) & gelu
               for n in recipe.nodes)


# --- shapes -------------------------------------------------------------------------------
def _window_length(length: int, window: int, stride: int, padding: str) -> int | None:
    """Output length of a conv/pool window along one axis, or None when the input is too short."""
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    if length < window:
        return None
    return (length - window) // stride + 1


# --- layers: each draws its arguments for an operand shape, or returns None if it does not apply ---
widths = st.integers(1, MAX_WIDTH)
activations = st.sampled_from((None, *ACTIVATIONS))


def _dense(draw, shape):
    args = {"units": draw(widths), "activation": draw(activations), "use_bias": draw(st.booleans())}
    return args, (*shape[:-1], args["units"])


def _activation(draw, shape):
    return {"activation": draw(st.sampled_from(ACTIVATIONS))}, shape


def _dropout(draw, shape):
    return {"rate": draw(st.sampled_from((0.1, 0.25, 0.5)))}, shape


def _batch_norm(draw, shape):
    return {"epsilon": draw(st.sampled_from((1e-3, 1e-5)))}, shape


def _layer_norm(draw, shape):
    return {"epsilon": draw(st.sampled_from((1e-3, 1e-6)))}, shape


def _conv(draw, shape):
    spatial = shape[:-1]
    padding = draw(st.sampled_from(("valid", "same", "causal") if len(spatial) == 1 else ("valid", "same")))
    kernel = draw(st.integers(1, 3))
    strides = 1 if padding == "causal" else draw(st.integers(1, 2))
    out = [_window_length(n, kernel, strides, padding) for n in spatial]
    if None in out:
        return None
    args = {"filters": draw(widths), "kernel_size": kernel, "strides": strides, "padding": padding,
            "activation": draw(activations)}
    return args, (*out, args["filters"])


def _pool(draw, shape):
    padding = draw(st.sampled_from(("valid", "same")))
    out = [_window_length(n, 2, 2, padding) for n in shape[:-1]]
    if None in out:
        return None
    return {"pool_size": 2, "padding": padding}, (*out, shape[-1])


def _global_pool(draw, shape):
    return {}, (shape[-1],)


def _flatten(draw, shape):
    return {}, (math.prod(shape),)


def _recurrent(draw, shape):
    args = {"units": draw(widths), "return_sequences": draw(st.booleans())}
    return args, ((shape[0], args["units"]) if args["return_sequences"] else (args["units"],))


def _masking(draw, shape):
    return {"mask_value": 0.0}, shape  # the layers after it (recurrent, pooling) compute with the mask


def _attention(draw, shape):
    """Self-attention: query = value = the sequence; output shape = the query's."""
    return {"num_heads": draw(st.integers(1, 2)), "key_dim": draw(st.integers(1, 8))}, shape


ANY_RANK = {"Dense": _dense, "Activation": _activation, "Dropout": _dropout,
            "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm}
BY_RANK = {
    1: ANY_RANK,
    2: {**ANY_RANK, "Conv1D": _conv, "MaxPooling1D": _pool, "AveragePooling1D": _pool,
        "GlobalAveragePooling1D": _global_pool, "GlobalMaxPooling1D": _global_pool,
        "LSTM": _recurrent, "GRU": _recurrent, "Flatten": _flatten, "Masking": _masking,
        "MultiHeadAttention": _attention},
    3: {**ANY_RANK, "Conv2D": _conv, "MaxPooling2D": _pool, "AveragePooling2D": _pool,
        "GlobalAveragePooling2D": _global_pool, "GlobalMaxPooling2D": _global_pool, "Flatten": _flatten},
    4: {**ANY_RANK, "Conv3D": _conv, "MaxPooling3D": _pool, "AveragePooling3D": _pool,
        "GlobalAveragePooling3D": _global_pool, "GlobalMaxPooling3D": _global_pool, "Flatten": _flatten},
}
FUNCTIONAL_ONLY = ("MultiHeadAttention",)  # two operands and call keywords: not a Sequential layer
MERGES = ("Add", "Concatenate")
# How often an input kind or layer is drawn relative to the others that apply: sequences, images,
# convolutions and recurrent layers carry most of the converter-specific ops.
WEIGHTS = {"sequence": 2, "image": 2, "Conv1D": 3, "Conv2D": 3, "Conv3D": 2, "LSTM": 2, "GRU": 2,
           "MultiHeadAttention": 4}


def _weighted(names) -> list[str]:
    return [name for name in names for _ in range(WEIGHTS.get(name, 1))]


class _Graph:
    """Nodes drawn so far, with unique names and the set of nodes something consumes."""

    def __init__(self):
        self.nodes: list[Node] = []
        self.consumed: set[str] = set()

    def add(self, op: str, args: dict, inputs: tuple, shape: tuple, call_args: dict | None = None) -> Node:
        name = f"{op.lower()}_{len(self.nodes)}"
        node = Node(name, op, tuple(sorted(args.items())), inputs, tuple(shape), tuple(sorted((call_args or {}).items())))
        self.nodes.append(node)
        if op != "Output":  # a layer's further output does not consume its first one
            self.consumed.update(inputs)
        return node

    def tensors(self) -> list[Node]:
        """Nodes a layer can consume (integer Inputs only feed their Embedding)."""
        return [n for n in self.nodes if n.kwargs.get("dtype") != "int32"]

    def sinks(self) -> list[Node]:
        return [n for n in self.nodes if n.name not in self.consumed and n.op != "Input"]


def _draw_input(draw, graph: _Graph, kind: str, dims: dict) -> Node:
    """An Input of `kind`; integer token inputs come with their Embedding, which is returned."""
    if kind == "vector":
        return graph.add("Input", {}, (), (draw(widths),))
    if kind == "sequence":
        return graph.add("Input", {}, (), (dims["steps"], draw(st.integers(1, 8))))
    if kind == "image":
        return graph.add("Input", {}, (), (dims["height"], dims["width"], draw(st.integers(1, 3))))
    if kind == "volume":
        return graph.add("Input", {}, (), (dims["depth"], dims["height"], dims["width"], draw(st.integers(1, 2))))
    tokens = graph.add("Input", {"dtype": "int32"}, (), (dims["steps"],))
    args = {"input_dim": draw(st.integers(2, 20)), "output_dim": draw(st.integers(1, 8)),
            "mask_zero": draw(st.booleans())}  # token 0 = padding: recurrent layers and pooling skip it
    return graph.add("Embedding", args, (tokens.name,), (dims["steps"], args["output_dim"]))


def _draw_layer(draw, graph: _Graph, operand: Node, functional: bool) -> None:
    choices = BY_RANK[len(operand.shape)]
    if not functional:
        choices = {op: f for op, f in choices.items() if op not in FUNCTIONAL_ONLY}
    if len(operand.shape) > 1 and draw(st.integers(0, 2)):  # 2 times in 3, a layer made for this rank
        choices = {op: f for op, f in choices.items() if op not in ANY_RANK}
    op = draw(st.sampled_from(_weighted(choices)))
    drawn = choices[op](draw, operand.shape)
    if drawn is None:  # e.g. a valid convolution wider than its input: a Dense applies everywhere
        op, drawn = "Dense", _dense(draw, operand.shape)
    args, shape = drawn
    if op == "MultiHeadAttention":
        _draw_attention(draw, graph, operand, args)
    elif op in MULTI_OUTPUT and functional and draw(st.integers(0, 2)) == 0:  # 1 time in 3: its states too
        layer = graph.add(op, {**args, "return_state": True}, (operand.name,), shape)
        for _ in range(2 if op == "LSTM" else 1):  # LSTM: h and c; GRU: h
            graph.add("Output", {}, (layer.name,), (args["units"],))
    else:
        graph.add(op, args, (operand.name,), shape)


def _draw_attention(draw, graph: _Graph, operand: Node, args: dict) -> None:
    """Self-attention, sometimes causal, sometimes returning its scores (a second output)."""
    call = {"use_causal_mask": draw(st.booleans()), "return_attention_scores": draw(st.booleans())}
    layer = graph.add("MultiHeadAttention", args, (operand.name, operand.name), operand.shape, call)
    if call["return_attention_scores"]:
        steps = operand.shape[0]
        graph.add("Output", {}, (layer.name,), (args["num_heads"], steps, steps))


def _merge_pairs(graph: _Graph) -> list[tuple[Node, Node]]:
    """Pairs of tensors that agree on every axis but the last: both Add and Concatenate can join them."""
    tensors = graph.tensors()
    return [(a, b) for i, a in enumerate(tensors) for b in tensors[i + 1:]
            if len(a.shape) == len(b.shape) and a.shape[:-1] == b.shape[:-1]]


def _draw_merge(draw, graph: _Graph, a: Node, b: Node) -> None:
    op = draw(st.sampled_from(MERGES))
    if op == "Concatenate":
        graph.add(op, {}, (a.name, b.name), (*a.shape[:-1], a.shape[-1] + b.shape[-1]))
        return
    if a.shape != b.shape:  # a residual-style projection so the two can be added
        b = graph.add("Dense", {"units": a.shape[-1]}, (b.name,), a.shape)
    graph.add(op, {}, (a.name, b.name), a.shape)


@st.composite
def model_recipes(draw, apis=("sequential", "functional"), max_layers: int = 6) -> ModelRecipe:
    """Small random Sequential models and Functional DAGs (branches, merges, several inputs and outputs)."""
    api = draw(st.sampled_from(apis))
    dims = {"steps": draw(st.integers(2, 8)), "height": draw(st.integers(3, 8)), "width": draw(st.integers(3, 8)),
            "depth": draw(st.integers(2, 4))}
    graph = _Graph()
    kinds = draw(st.lists(st.sampled_from(_weighted(INPUT_KINDS)), min_size=1, max_size=1 if api == "sequential" else 2))
    for kind in kinds:
        _draw_input(draw, graph, kind, dims)
    for _ in range(draw(st.integers(1, max_layers))):
        pairs = _merge_pairs(graph) if api == "functional" else []
        if pairs and draw(st.integers(0, 3)) == 0:
            _draw_merge(draw, graph, *draw(st.sampled_from(pairs)))
            continue
        tensors = graph.tensors()
        # Functional models may branch from any earlier tensor; shrinking goes toward a plain chain.
        operand = tensors[-1 - draw(st.integers(0, len(tensors) - 1))] if api == "functional" else tensors[-1]
        _draw_layer(draw, graph, operand, api == "functional")
    for node in [n for n in graph.tensors() if n.op == "Input" and n.name not in graph.consumed]:
        units = draw(widths)
        graph.add("Dense", {"units": units}, (node.name,), (*node.shape[:-1], units))
    outputs = tuple(n.name for n in graph.sinks())
    return ModelRecipe(api, tuple(graph.nodes), outputs, draw(st.integers(0, 2**16)))
