"""`toolkit explain`: the Keras layer where an exported artifact starts to diverge from Keras.

keras_side: every layer's output in Keras; names: artifact tensor names -> Keras layers;
probes: the real artifact's intermediate tensors in its runtime (LiteRT, ONNX Runtime, TF.js in Node);
measure: per-layer metrics, first divergent layer, growth, outlier channels; run: the whole explanation;
report: table, JSON, Markdown and the plot.
"""
