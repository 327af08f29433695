"""Layer classes that exact rewrites put in place of Keras convolution, pooling and resizing layers.

Each subclasses the Keras layer it replaces, so the config and the weights (same shapes, same
order) carry over unchanged; only `call` computes the same function with ops the target has.
Built on first use (keras is imported lazily); exporters/replacements.py adds them to custom_objects.
"""

from __future__ import annotations

import functools

import numpy as np

BICUBIC_TABLE_SIZE = 1024  # TF's ResizeBicubic looks its weights up in a table of this many steps


def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32 matrix M with resize(x) = M @ x along one axis, as TF's ResizeBicubic computes
    it with half_pixel_centers=True (what tf.image.resize uses): Keys' kernel (a=-0.5) read from the same
    1024-step table, taps outside the image dropped and the other weights renormalised."""
    f32 = np.float32
    table = _bicubic_table(-0.5)
    scale = f32(in_size) / f32(out_size)
    matrix = np.zeros((out_size, in_size), np.float32)
    for out in range(out_size):
        location = (f32(out) + f32(0.5)) * scale - f32(0.5)
        floor = int(np.floor(location))
        offset = int(np.rint(f32(location - f32(floor)) * f32(BICUBIC_TABLE_SIZE)))  # lrintf: ties to even
        weights = np.array([table[offset * 2 + 1], table[offset * 2],
                            table[(BICUBIC_TABLE_SIZE - offset) * 2], table[(BICUBIC_TABLE_SIZE - offset) * 2 + 1]], f32)
        taps = np.arange(floor - 1, floor + 3)
        weights[(taps < 0) | (taps >= in_size)] = 0.0
        total = f32(weights[0] + weights[1] + weights[2] + weights[3])
        if abs(total) >= 1000.0 * np.finfo(np.float32).tiny:
            weights = weights * (f32(1.0) / total)
        for tap, weight in zip(taps, weights):
            if 0 <= tap < in_size:
                matrix[out, tap] += weight
    return matrix


@functools.cache
def _bicubic_table(a: float) -> np.ndarray:
    """TF's InitCoeffsTable: x in float32, the polynomial in double, stored as float32."""
    table = np.zeros((BICUBIC_TABLE_SIZE + 1) * 2, np.float32)
    for i in range(BICUBIC_TABLE_SIZE + 1):
        x = float(np.float32(i / BICUBIC_TABLE_SIZE))
        table[i * 2] = ((a + 2) * x - (a + 3)) * x * x + 1
        x = float(np.float32(x + 1.0))
        table[i * 2 + 1] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return table


@functools.cache
def layer_classes() -> dict:
    """Class name -> replacement layer class, as Keras deserialization takes custom objects."""
    import keras
    from keras import ops

    def to_channels_last(layer, x):
        return x if layer.data_format == "channels_last" else ops.moveaxis(x, 1, -1)

    def from_channels_last(layer, x):
        return x if layer.data_format == "channels_last" else ops.moveaxis(x, -1, 1)

    def bias_and_activation(layer, outputs):
        """The tail of Keras's BaseConv.call, unchanged."""
        if layer.use_bias:
            rank = layer.rank
            shape = (1,) * (rank + 1) + (layer.filters,) if layer.data_format == "channels_last" else (1, layer.filters) + (1,) * rank
            outputs = ops.add(outputs, ops.reshape(layer.bias, shape))
        return layer.activation(outputs) if layer.activation is not None else outputs

    class GroupedConv:
        """Conv with groups > 1 without Keras's XLA-compiled function: a depthwise convolution when every
        group is one input channel, else one convolution per group on its channels, concatenated. The
        kernel (..., in/groups, filters) keeps its shape; group g owns filters [g*f/groups, (g+1)*f/groups)."""

        def call(self, inputs):
            padding = self.padding
            if padding == "causal":  # Conv1D: as Keras does, pad on the left, then a valid convolution
                inputs, padding = ops.pad(inputs, self._compute_causal_padding()), "valid"
            x = to_channels_last(self, inputs)
            arguments = {"strides": tuple(self.strides), "padding": padding, "dilation_rate": self.dilation_rate,
                         "data_format": "channels_last"}
            channels, per_group = x.shape[-1], self.kernel.shape[-2]
            if self.groups == 1:  # channels_first Conv3D: only the layout changes
                outputs = ops.conv(x, self.kernel, **arguments)
            elif per_group == 1 and self.rank < 3:
                # Depthwise output channel c*m + k is group c's k-th filter: the same order as grouped filters.
                kernel = ops.reshape(self.kernel, (*self.kernel.shape[:-2], channels, self.filters // channels))
                outputs = ops.depthwise_conv(x, kernel, **arguments)
            else:
                pieces = zip(ops.split(x, self.groups, axis=-1), ops.split(self.kernel, self.groups, axis=-1))
                outputs = ops.concatenate([ops.conv(part, kernel, **arguments) for part, kernel in pieces], axis=-1)
            return bias_and_activation(self, from_channels_last(self, outputs))

    class FullConvTranspose:
        """Transposed convolution computed at its full size ((in-1)*stride + dilated kernel), then cropped and
        zero-padded to Keras's output size. TF's own op does the same with one padding, which tf2onnx turns
        into a ConvTranspose with negative pads once the output is longer than the full size."""

        def call(self, inputs):
            x = to_channels_last(self, inputs)
            full = self.full_size(x)
            index, padding = [slice(None)], [(0, 0)]
            for axis in range(self.rank):
                before, after, extra = transpose_crop(self, axis)
                index.append(slice(before, -after if after else None))
                padding.append((0, extra))
            outputs = ops.pad(full[tuple(index)], [*padding, (0, 0)])
            return bias_and_activation(self, from_channels_last(self, outputs))

        def full_size(self, x):
            return ops.conv_transpose(x, self.kernel, strides=list(self.strides), padding="valid", output_padding=0,
                                      dilation_rate=self.dilation_rate, data_format="channels_last")

    class DirectConvTranspose(FullConvTranspose):
        """The full transposed convolution as a plain convolution: the input with stride-1 zeros inserted
        between its cells and a dilated kernel's length - 1 zeros around it, convolved with the kernel flipped
        in space and with its channel axes swapped. Each output cell sums the same products."""

        def full_size(self, x):
            kernel = ops.flip(self.kernel, axis=tuple(range(self.rank)))
            kernel = ops.swapaxes(kernel, -1, -2)  # (..., filters, in) -> (..., in, filters)
            for axis, (stride, size) in enumerate(zip(self.strides, self.kernel_size), start=1):
                x = insert_zeros(x, axis, stride)
                reach = (size - 1) * self.dilation_rate[axis - 1]
                x = ops.pad(x, [(0, 0)] * axis + [(reach, reach)] + [(0, 0)] * (self.rank + 1 - axis))
            return ops.conv(x, kernel, strides=1, padding="valid", dilation_rate=self.dilation_rate,
                            data_format="channels_last")

    def insert_zeros(x, axis, stride):
        """stride - 1 zeros between neighbouring cells along `axis` (a static size): stacked, merged, trimmed."""
        if stride == 1:
            return x
        stacked = ops.stack([x] + [ops.zeros_like(x)] * (stride - 1), axis=axis + 1)
        shape = list(x.shape)
        merged = ops.reshape(stacked, [-1, *shape[1:axis], shape[axis] * stride, *shape[axis + 1:]])
        return ops.take(merged, np.arange((shape[axis] - 1) * stride + 1), axis=axis)

    class SeparablePooling3D:
        """3D max/average pooling as a 2D pooling over (height, width), then one over depth: windows are
        boxes, so the max (or the mean over the valid cells) of the box is that of its slices."""

        def call(self, inputs):
            x = to_channels_last(self, inputs)
            pool = functools.partial(ops.max_pool if self.pool_mode == "max" else ops.average_pool,
                                     padding=self.padding, data_format="channels_last")
            # ops.shape: static sizes where known, tensors where not (pooling layers record no input shape)
            (depth, height, width, channels), (pd, ph, pw), (sd, sh, sw) = ops.shape(x)[1:], self.pool_size, self.strides
            planes = pool(ops.reshape(x, (-1, height, width, channels)), (ph, pw), (sh, sw))
            rows, cols = ops.shape(planes)[1:3]
            pooled = pool(ops.reshape(planes, (-1, depth, rows * cols, channels)), (pd, 1), (sd, 1))
            outputs = ops.reshape(pooled, (-1, ops.shape(pooled)[1], rows, cols, channels))
            return from_channels_last(self, outputs)

    class SeparableAdaptivePooling3D:
        """3D adaptive pooling as a 2D adaptive pooling over (height, width), then a 1D one over depth: Keras
        pools each axis on its own too, so the windows (and the max, or the mean) are the same."""

        def call(self, inputs):
            x = to_channels_last(self, inputs)
            pool = ops.adaptive_max_pool if isinstance(self, keras.layers.AdaptiveMaxPooling3D) else ops.adaptive_average_pool
            (depth, height, width, channels), (od, oh, ow) = x.shape[1:], self.output_size
            planes = pool(ops.reshape(x, (-1, height, width, channels)), (oh, ow), data_format="channels_last")
            deep = pool(ops.reshape(planes, (-1, depth, oh * ow * channels)), od, data_format="channels_last")
            return from_channels_last(self, ops.reshape(deep, (-1, od, oh, ow, channels)))

    def resize_bicubic(x, height, width):
        """(batch, h, w, c) float32 -> (batch, height, width, c): two products with constant matrices."""
        rows = ops.convert_to_tensor(bicubic_matrix(x.shape[1], height).T)
        cols = ops.convert_to_tensor(bicubic_matrix(x.shape[2], width).T)
        y = ops.matmul(ops.transpose(x, (0, 2, 3, 1)), rows)  # (b, w, c, height): rows first, as TF does
        y = ops.matmul(ops.transpose(y, (0, 3, 2, 1)), cols)  # (b, height, c, width)
        return ops.transpose(y, (0, 1, 3, 2))

    class ToolkitBicubicResizing(keras.layers.Resizing):
        def _transform_images(self, images, transformation, interpolation):
            x = to_channels_last(self, images if len(images.shape) == 4 else ops.expand_dims(images, 0))
            resized = from_channels_last(self, resize_bicubic(ops.cast(x, "float32"), self.height, self.width))
            resized = resized if len(images.shape) == 4 else resized[0]
            return saturate_cast(resized, images.dtype)

    class ToolkitBicubicUpSampling2D(keras.layers.UpSampling2D):
        def call(self, inputs):
            x = to_channels_last(self, inputs)
            height, width = x.shape[1] * self.size[0], x.shape[2] * self.size[1]
            # float32 out, as tf.image.resize returns for every input dtype
            return from_channels_last(self, resize_bicubic(ops.cast(x, "float32"), height, width))

    def saturate_cast(x, dtype):
        """As Resizing returns a resize of integer images: rounded and clipped to the dtype's range."""
        if "int" not in str(dtype):
            return ops.cast(x, dtype)
        limits = np.iinfo(str(dtype).split(".")[-1])
        return ops.cast(ops.clip(ops.round(x), float(limits.min), float(limits.max)), dtype)

    def subclass(mixin, base):
        return type(f"Toolkit{base.__name__}", (mixin, base), {"__doc__": mixin.__doc__})

    layers = keras.layers
    classes = [subclass(GroupedConv, base) for base in (layers.Conv1D, layers.Conv2D, layers.Conv3D)]
    classes += [subclass(FullConvTranspose, base)
                for base in (layers.Conv2DTranspose, layers.Conv3DTranspose)]
    classes.append(type("ToolkitDirectConv3DTranspose", (DirectConvTranspose, layers.Conv3DTranspose),
                        {"__doc__": DirectConvTranspose.__doc__}))
    classes += [subclass(SeparablePooling3D, base) for base in (layers.MaxPooling3D, layers.AveragePooling3D)]
    classes += [subclass(SeparableAdaptivePooling3D, base)
                for base in (layers.AdaptiveMaxPooling3D, layers.AdaptiveAveragePooling3D)]
    classes += [ToolkitBicubicResizing, ToolkitBicubicUpSampling2D]
    return {cls.__name__: cls for cls in classes}


def transpose_crop(layer_or_config: object, axis: int) -> tuple[int, int, int]:
    """(crop before, crop after, zeros after) turning the full transposed convolution along `axis` into
    Keras's output (backend_utils._get_output_shape_given_tf_padding), with TF's padding split: VALID
    pads nothing; SAME drops max(0, full - output) cells, the smaller half first."""
    get = layer_or_config.get if isinstance(layer_or_config, dict) else functools.partial(getattr, layer_or_config)
    kernel, stride, dilation = (_axis_value(get(key), axis) for key in ("kernel_size", "strides", "dilation_rate"))
    output_padding = get("output_padding")
    extra = None if output_padding is None else _axis_value(output_padding, axis)
    kernel = (kernel - 1) * dilation + 1
    if get("padding") == "valid":
        longer = max(kernel, stride) - kernel if extra is None else extra  # output minus full size
    else:
        longer = stride - kernel if extra is None else kernel % 2 + extra - kernel
    dropped = max(0, -longer)
    return dropped // 2, dropped - dropped // 2, max(0, longer)


def _axis_value(value, axis: int) -> int:
    return value if isinstance(value, int) else value[axis]
