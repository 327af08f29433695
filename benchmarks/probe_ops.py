"""Probe which typical user layers export to which target, and write docs/op_support.md.

Each probe is a small Functional model around one layer (or activation) with
non-trivial random weights, saved to .keras and pushed through the toolkit's
own API: `api.export(path, ["all"])`, then `check_parity` in the in-process
runtimes (and tfjs-node when it is available). The cell of each layer x target
is ok, rewritten (how, with the worst error against Keras), or unsupported (the
exporter's message).

    .venv/bin/python benchmarks/probe_ops.py [--only NAME,...] [--out docs/op_support.md]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from toolkit.tf_env import import_tf  # noqa: E402

SEQ = (8, 6)  # fixed sequence length x features for the recurrent and attention probes
IMAGE = (12, 12, 3)
VOLUME = (4, 6, 6, 4)  # depth, height, width, channels
VOCAB, TOKENS = 50, 10
TARGETS = ("saved_model", "tflite", "onnx", "tfjs")
IN_PROCESS_RUNTIMES = ["tf_savedmodel", "litert", "onnxruntime"]


def _sequence(layer_fn, shape=SEQ):
    import keras

    inputs = keras.Input(shape, name="x")
    return keras.Model(inputs, layer_fn(inputs), name="probe")


def _image(layer_fn, shape=IMAGE):
    import keras

    inputs = keras.Input(shape, name="x")
    return keras.Model(inputs, layer_fn(inputs), name="probe")


def _activation(name):
    import keras

    def build():
        inputs = keras.Input((16,), name="x")
        hidden = keras.layers.Dense(16)(inputs)  # spreads the inputs over the activation's interesting range
        return keras.Model(inputs, keras.layers.Activation(name)(hidden * 3.0), name="probe")

    return build


def _embedding_pooled():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    vectors = keras.layers.Embedding(VOCAB, 8)(inputs)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(vectors), name="probe")


def _embedding_masked_lstm():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    vectors = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inputs)
    return keras.Model(inputs, keras.layers.LSTM(5)(vectors), name="probe")


def _category_encoding():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    encoded = keras.layers.CategoryEncoding(VOCAB, output_mode="multi_hot")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4)(encoded), name="probe")


def _int_input(factory):
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    return keras.Model(inputs, factory()(inputs), name="probe")

def _attention():
    import keras

    def call(x):
        x = keras.layers.Dense(16)(x)
        return keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)

    return _sequence(call)


def _recurrent(kind, return_sequences, bidirectional=False):
    import keras

    def build():
        def call(x):
            layer = getattr(keras.layers, kind)(5, return_sequences=return_sequences)
            return keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)

        return _sequence(call)

    return build


def _layers(*factories):
    """Apply the layers keras.layers.<factory>() in order: a tiny Sequential-like chain."""

    def call(x):
        for factory in factories:
            x = factory()(x)
        return x

    return call


def _k(name, *args, **kwargs):
    def factory():
        import keras

        return getattr(keras.layers, name)(*args, **kwargs)

    return factory


PROBES: dict[str, Callable] = {
    "MultiHeadAttention": _attention,
    "LayerNormalization": lambda: _sequence(_layers(_k("LayerNormalization"))),
    "BatchNormalization": lambda: _image(_layers(_k("Conv2D", 4, 3), _k("BatchNormalization"))),
    "GroupNormalization": lambda: _image(_layers(_k("Conv2D", 8, 3), _k("GroupNormalization", groups=4))),
    "gelu (exact)": lambda: _activation_model("gelu"),
    "gelu (approximate)": lambda: _activation_model("gelu_approximate"),
    "swish/silu": _activation("silu"),
    "hard_swish": _activation("hard_swish"),
    "mish": _activation("mish"),
    "softplus": _activation("softplus"),
    "elu": _activation("elu"),
    "selu": _activation("selu"),
    "leaky_relu": lambda: _sequence(_layers(_k("Dense", 6), _k("LeakyReLU", negative_slope=0.2))),
    "LSTM (sequences)": _recurrent("LSTM", True),
    "LSTM (last)": _recurrent("LSTM", False),
    "GRU (sequences)": _recurrent("GRU", True),
    "GRU (last)": _recurrent("GRU", False),
    "SimpleRNN (sequences)": _recurrent("SimpleRNN", True),
    "SimpleRNN (last)": _recurrent("SimpleRNN", False),
    "Bidirectional LSTM (sequences)": _recurrent("LSTM", True, bidirectional=True),
    "Bidirectional GRU (last)": _recurrent("GRU", False, bidirectional=True),
    "Bidirectional SimpleRNN (last)": _recurrent("SimpleRNN", False, bidirectional=True),
    "Embedding(mask_zero) + LSTM": _embedding_masked_lstm,
    "Conv1D": lambda: _sequence(_layers(_k("Conv1D", 4, 3, padding="same"))),
    "Conv1D (causal, dilated)": lambda: _sequence(_layers(_k("Conv1D", 4, 3, padding="causal", dilation_rate=2))),
    "Conv2D": lambda: _image(_layers(_k("Conv2D", 4, 3, strides=2))),
    "DepthwiseConv2D": lambda: _image(_layers(_k("DepthwiseConv2D", 3, depth_multiplier=2))),
    "SeparableConv2D": lambda: _image(_layers(_k("SeparableConv2D", 4, 3, padding="same"))),
    "Conv2DTranspose": lambda: _image(_layers(_k("Conv2DTranspose", 4, 3, strides=2, padding="same"))),
    "MaxPooling2D / AveragePooling2D": lambda: _image(_layers(_k("MaxPooling2D"), _k("AveragePooling2D", 2))),
    "GlobalAveragePooling2D / GlobalMaxPooling2D": lambda: _image(
        lambda x: _concat(_k("GlobalAveragePooling2D")()(x), _k("GlobalMaxPooling2D")()(x))
    ),
    "MaxPooling1D / AveragePooling1D": lambda: _sequence(_layers(_k("MaxPooling1D"), _k("AveragePooling1D", 2))),
    "UpSampling2D (nearest)": lambda: _image(_layers(_k("UpSampling2D"))),
    "UpSampling2D (bilinear)": lambda: _image(_layers(_k("UpSampling2D", interpolation="bilinear"))),
    "Embedding (int32) + GlobalAveragePooling1D": _embedding_pooled,
    "Dropout": lambda: _sequence(_layers(_k("Dense", 6), _k("Dropout", 0.5))),
    # Beyond the brief: more activations and layers users reach for.
    "relu6": _activation("relu6"),
    "hard_sigmoid": _activation("hard_sigmoid"),
    "softsign": _activation("softsign"),
    "log_softmax": _activation("log_softmax"),
    "celu": _activation("celu"),
    "Attention (dot-product)": lambda: _sequence(lambda x: _k("Attention")()([x, x])),
    "CategoryEncoding (multi_hot) on int32": _category_encoding,
    "IntegerLookup on int32": lambda: _int_input(_k("IntegerLookup", vocabulary=[3, 7, 11, 19], output_mode="int")),
    "Hashing on int32": lambda: _int_input(_k("Hashing", num_bins=8)),
    "Discretization": lambda: _sequence(_layers(_k("Discretization", bin_boundaries=[-1.0, 0.0, 1.0]))),
    # Grouped and 3D convolutions, 3D pooling, ConvLSTM, bicubic resizing: exact rewrites where a target lacks them.
    "Conv1D (groups=2)": lambda: _sequence(_layers(_k("Conv1D", 4, 3, groups=2))),
    "Conv2D (groups=channels)": lambda: _image(_layers(_k("Conv2D", 6, 3, groups=3, padding="same"))),
    "Conv2D (groups=2)": lambda: _image(_layers(_k("Conv2D", 4, 1), _k("Conv2D", 6, 3, groups=2))),
    "Conv3D (groups=2)": lambda: _image(_layers(_k("Conv3D", 4, 2, groups=2)), shape=VOLUME),
    "Conv2DTranspose (output_padding)": lambda: _image(_layers(_k("Conv2DTranspose", 4, 3, strides=2, output_padding=1))),
    "MaxPooling3D / AveragePooling3D": lambda: _image(
        _layers(_k("MaxPooling3D"), _k("AveragePooling3D", 2, padding="same")), shape=VOLUME
    ),
    "GlobalAveragePooling3D / GlobalMaxPooling3D": lambda: _image(
        lambda x: _concat(_k("GlobalAveragePooling3D")()(x), _k("GlobalMaxPooling3D")()(x)), shape=VOLUME
    ),
    "ConvLSTM2D": lambda: _image(_layers(_k("ConvLSTM2D", 3, 3, padding="same")), shape=(4, 6, 6, 2)),
    "gelu (exact) -> relu": lambda: _activation_model("gelu", then="relu"),
    "Resizing (bicubic)": lambda: _image(_layers(_k("Resizing", 16, 10, interpolation="bicubic"))),
    "UpSampling2D (bicubic)": lambda: _image(_layers(_k("UpSampling2D", interpolation="bicubic"))),
}



def _activation_model(name, then=None):
    import keras

    inputs = keras.Input((16,), name="x")
    hidden = keras.layers.Dense(16)(inputs) * 3.0
    if name == "gelu_approximate":  # an op node: Activation("gelu") has no approximate option
        return keras.Model(inputs, keras.ops.gelu(hidden, approximate=True), name="probe")
    outputs = keras.layers.Activation(name)(hidden)
    return keras.Model(inputs, keras.layers.Activation(then)(outputs) if then else outputs, name="probe")


def _concat(*tensors):
    import keras

    return keras.layers.Concatenate()(list(tensors))


def randomize_weights(model, seed: int = 0) -> None:
    """Non-trivial weights: constant-initialized ones (biases, gammas, BN statistics) get noise."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = np.asarray(weight.numpy())
        if not np.issubdtype(value.dtype, np.floating):
            continue
        if "variance" in weight.path:
            value = rng.uniform(0.5, 2.0, value.shape)
        elif value.size and np.all(value == value.flat[0]):
            value = value + rng.normal(0.0, 0.3, value.shape)
        weight.assign(value.astype(weight.dtype))


def build_probe(name: str):
    import keras

    keras.utils.clear_session()  # layer names restart, so the table reads 'lstm', not 'lstm_7'
    model = PROBES[name]()
    randomize_weights(model)
    return model


def probe_file_name(name: str) -> str:
    return "probe_" + "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()


def save_probe(name: str, folder: Path) -> Path:
    path = Path(folder) / f"{probe_file_name(name)}.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build_probe(name).save(path)
    return path


def parity_variants(tfjs: Sequence[str] = ("tfjs-node-cpu",)):
    """The in-process runtimes, plus the TF.js variants named in `tfjs` (tfjs-node-cpu, tfjs-node-wasm,
    tfjs-browser) whose runtime is set up here: Node and its packages, Chromium and the web demo's packages."""
    from toolkit.errors import ToolkitError
    from toolkit.plugins import load_plugins
    from toolkit.runtimes.variants import runtime_variants

    load_plugins()  # fills the runtime registry; run as a script, nothing else has loaded them yet
    variants = list(runtime_variants(IN_PROCESS_RUNTIMES))
    for label in tfjs:
        try:
            _check_setup(label)
        except (ImportError, ToolkitError):  # not set up here: no parity in that runtime
            continue
        variants += runtime_variants([label])
    return variants


def _check_setup(label: str) -> None:
    if label == "tfjs-browser":
        from toolkit.demo.static_server import require_web_demo
        from toolkit.runtimes.chromium import require_chromium

        require_chromium()
        require_web_demo()
    else:
        from toolkit.runtimes.tfjs_node import check_node_setup

        check_node_setup()


def _cell(result, rows) -> dict:
    """One table cell: status, detail and worst error of one export and its parity rows."""
    from toolkit.export.manifest import read_manifest

    if not result.ok:
        return {"status": "unsupported" if "exact rewrite" in result.error else "fails",
                "detail": result.error}
    rewrites = (read_manifest(result.path) or {}).get("rewrites", [])
    errors = [r.max_abs_err for r in rows if r.max_abs_err is not None]
    worst = max(errors) if errors else None
    failed = [r for r in rows if not r.passed]
    if failed:
        return {"status": "parity fails", "detail": f"{failed[0].runtime}: {failed[0].error}", "max_abs_err": worst}
    runtimes = sorted({r.runtime for r in rows})
    status = "rewritten" if rewrites else "ok"
    return {"status": status, "detail": "; ".join(rewrites), "rewrites": rewrites, "max_abs_err": worst, "runtimes": runtimes}


def probe(name: str, work: Path, variants) -> dict[str, dict]:
    """target -> cell for one probe layer."""
    from toolkit import api
    from toolkit.parity.run import check_parity

    path = save_probe(name, work / "models")
    loaded = api.load(str(path))
    results = api.export(loaded, ["all"], None, work / "artifacts", force=True)
    rows = check_parity(loaded, results, variants)
    cells = {}
    for result in results:
        mine = [r for r in rows if r.target == result.target]
        cells[result.target] = _cell(result, mine)
    return cells


def _shown(cell: dict) -> str:
    status = cell["status"]
    error = cell.get("max_abs_err")
    if status == "ok":
        return "ok" + (f" ({error:.1e})" if error is not None else "")
    if status == "rewritten":
        # "LSTM 'x': how (why)" per rewritten layer; the reason is shown once per cell. A TF.js graph fix
        # ends "(why) at <node>": the node is dropped, so repeats of one fix show once.
        lines = dict.fromkeys(re.sub(r"\) at \S+$", ")", line) for line in cell["rewrites"])
        parts = [line.rsplit(" (", 1) for line in lines]
        how = "; ".join(p[0] for p in parts)
        why = "; ".join(dict.fromkeys(p[1].rstrip(")") for p in parts if len(p) == 2))
        return f"rewritten: {how} ({why}; max abs err {error:.1e})".replace("|", "\\|")
    return f"{status}: {cell['detail']}".replace("|", "\\|")


NOTES = """## What the rewrites do, and what stays unsupported

Every rewrite lives in `exporters/rewrites.py` (a table (target, Keras class) -> one function),
rebuilds the model from its config with the same weights, and never touches the user's model.

- **Recurrent layers (LSTM, GRU, SimpleRNN, RNN; inside Bidirectional too) on tflite and tfjs:**
  Keras 3 runs them as a `tf.while_loop` over TensorLists. TFLite builtins cannot lower
  `TensorListReserve` with a dynamic batch (and the Flex delegate is not shipped); TF.js converts
  the loop but cannot execute it. Rewrite: `unroll=True` for the fixed sequence length.
- **gelu (exact) on onnx and tfjs:** TF computes it with `Erfc`, which tf2onnx cannot convert (it
  writes an invalid graph) and TF.js lacks. Rewrite: `0.5*x*(1+erf(x/sqrt(2)))`, for
  `activation="gelu"` on any built-in layer and for `keras.ops.gelu(x, approximate=False)` nodes.
- **softsign on tflite and tfjs:** no `Softsign` kernel. Rewrite: `x/(1+|x|)`.
- **celu on onnx:** tf2onnx has no `Expm1`. Rewrite: `exp(z)-1` (equal up to ~1 ulp of 1).
- **CategoryEncoding multi_hot/count on tflite:** Keras's TF fast path is `DenseBincount`.
  Rewrite: max/sum over `one_hot` (rank-2 integer inputs).
- **Discretization (output_mode="int") on onnx and tfjs:** `Bucketize` is missing. Rewrite:
  `sum(x >= boundaries)`, the same bucket index.
- **ConvLSTM1D/2D/3D on tflite and tfjs:** the same loop as LSTM; rewrite: `unroll=True` (ConvLSTM
  passes it on to Keras's RNN).
- **Conv1D/2D/3D with groups > 1 on onnx and tfjs (Conv3D also on tflite), and channels_first
  Conv3D:** Keras's TF backend runs them as an XLA-compiled nested function, which tf2onnx and the
  TF.js converter leave as an unconvertible `StatefulPartitionedCall`; LiteRT's `CONV_3D` takes no
  groups. Rewrite (same kernel): a depthwise convolution when each group is one input channel
  (1D/2D), else one convolution per group on its channels, concatenated. TFLite runs grouped
  `CONV_2D` itself. A grouped convolution inside a custom layer's `call` fails naming the layer.
- **Conv2DTranspose/Conv3DTranspose on onnx** when the output is longer than the full transposed
  convolution (`output_padding` with `padding="valid"`, or a kernel shorter than the stride):
  tf2onnx writes negative `ConvTranspose` pads. Rewrite: the full transposed convolution, cropped
  as TF's padding does, then zeros appended.
- **MaxPooling3D/AveragePooling3D on tflite:** no 3D pooling builtin. Rewrite: 2D pooling over
  height and width, then over depth (same windows; the global 3D poolings convert as they are).
- **gelu (exact) feeding a ReLU on tflite:** the converter fuses the ReLU into gelu's last `Mul`,
  the `GELU` match fails and `Erfc` is left. Rewrite (depends on how layers connect, in
  `exporters/graph_rewrites.py`): an identity reshape between them.
- **Resizing/UpSampling2D(interpolation="bicubic") on tflite, tfjs and onnx:** `ResizeBicubic` has
  no TFLite builtin or TF.js kernel; ONNX's cubic `Resize` (which tf2onnx writes with TF's settings)
  computes exact weights where TF reads them from a 1024-step table (1e-3 apart). Rewrite: two
  products with constant interpolation matrices built from TF's table; needs a fixed image size.

Unsupported (the export fails with one UnsupportedOpError naming op, Keras layer and target):

- **IntegerLookup / StringLookup-style hash tables** (`HashTableV2`, `LookupTableFindV2`):
  not TFLite builtins; tf2onnx converts only string<->int64 tables; the TF.js graph model turns
  the table into an extra input. An exact rewrite would need the vocabulary as a constant compare
  (O(vocabulary) per id); not done. Do the lookup in the input pipeline.
- **Hashing** (`AsString` + `StringToHashBucketFast`, a FarmHash of the decimal string): no target
  has these ops and the hash cannot be expressed exactly with their ops.
- **Recurrent layers with a variable sequence length** on tflite/tfjs: unrolling needs the length;
  the message says to fix it in `keras.Input`. (The toolkit's loader itself also needs fixed
  non-batch dimensions to make sample inputs, so such a model cannot be probed end to end here.)
- **Bicubic resizing of images of unknown size, or with crop_to_aspect_ratio, pad_to_aspect_ratio
  or antialias:** the interpolation matrices need the size; the message says so.
- **Ops inside a custom layer's `call`** (e.g. `keras.ops.softsign` in a subclassed layer, or an
  LSTM in a subclassed model): rewrites work on the model's config, which does not describe
  `call`; the error names the op and the custom layer, with a hint where one exists.
"""


def write_table(table: dict[str, dict[str, dict]], out: Path, variants, seconds: float) -> None:
    labels = ", ".join(v.label for v in variants)
    lines = [
        "# Op support: typical Keras layers x export targets",
        "",
        "Written by `benchmarks/probe_ops.py` (do not edit by hand; rerun it). Each row is a small",
        "Functional model around one layer, with random non-trivial weights, exported with",
        "`toolkit.api.export(path, [\"all\"])` and checked with `check_parity` at batch 1 and 4",
        f"in: {labels}. A cell is `ok` (worst abs error vs Keras), `rewritten: how` (an exact",
        "rewrite from `exporters/rewrites.py`, recorded in the manifest's `rewrites`, and its",
        "worst abs error), or `unsupported: message` (the export fails with UnsupportedOpError).",
        "",
        "| layer | " + " | ".join(TARGETS) + " |",
        "|---|" + "---|" * len(TARGETS),
    ]
    for name, cells in table.items():
        lines.append(f"| {name} | " + " | ".join(_shown(cells[t]) if t in cells else "-" for t in TARGETS) + " |")
    lines += ["", f"Probe run took {seconds:.0f} s (2 CPU cores).", "", NOTES]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated probe names (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "op_support.md")
    parser.add_argument("--work", type=Path, help="folder for probe models and artifacts (default: a temporary one)")
    args = parser.parse_args(argv)
    import_tf()
    names = args.only.split(",") if args.only else list(PROBES)
    variants = parity_variants()
    started = time.perf_counter()
    table = {}
    with tempfile.TemporaryDirectory(prefix="probe-ops-") as temporary:
        work = args.work or Path(temporary)
        for name in names:
            table[name] = probe(name, work, variants)
            print(f"{name}: " + ", ".join(f"{t}={c['status']}" for t, c in table[name].items()), flush=True)
    write_table(table, args.out, variants, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
