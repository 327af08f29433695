// Named tensors as the page passes them around: {dtype, shape, data: TypedArray}.
// Also the wire format to Python (base64 of little-endian bytes, exact for every dtype)
// and the parity check, which uses the same rule as `toolkit parity`.

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function arrayType(dtype) {
  const type = ARRAYS[dtype];
  if (!type) throw new Error(`dtype ${dtype} is not supported in the browser; use float32, int32 or int64 inputs`);
  return type;
}

/** {dtype, shape, b64} (or, for strings, {dtype: "string", shape, strings}) from Python -> {dtype, shape, data}. */
export function fromBase64({ dtype, shape, b64, strings }) {
  if (dtype === "string") return { dtype, shape, data: strings }; // row-major JS strings, as TF.js and ORT take them
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { dtype, shape, data: new (arrayType(dtype))(bytes.buffer) };
}

/** {dtype, shape, data} -> {dtype, shape, b64} for Python. */
export function toBase64({ dtype, shape, data }) {
  // TF.js's cpu backend casts bool/int32 to float32 without copying: data() keeps the narrower array type.
  const type = arrayType(dtype);
  const values = data instanceof type ? data : type.from(data);
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = "";
  const chunk = 0x8000; // String.fromCharCode takes its arguments on the stack
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return { dtype, shape: Array.from(shape), b64: btoa(binary) };
}

export function mapValues(object, fn) {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}

/** golden.json's {name: {dtype, shape, data: [numbers]}} -> named tensors. */
export function fromGolden(entries) {
  return mapValues(entries, ({ dtype, shape, data }) => {
    if (dtype === "string") return { dtype, shape, data };
    const type = arrayType(dtype);
    const values = type === BigInt64Array ? data.map((v) => BigInt(v)) : data;
    return { dtype, shape, data: type.from(values) };
  });
}

/** Sample `index` of a batched tensor, as a batch of one. */
export function sliceBatch({ dtype, shape, data }, index) {
  const stride = shape.slice(1).reduce((a, b) => a * b, 1);
  return { dtype, shape: [1, ...shape.slice(1)], data: data.slice(index * stride, (index + 1) * stride) };
}

/**
 * Compare outputs with references by name: shapes first, then every element with
 * |got - ref| <= atol + rtol * |ref|. Returns {maxAbs, perOutput: {name: maxAbs}, pass, problems}.
 */
export function compareOutputs(got, reference, { atol, rtol }) {
  let maxAbs = 0;
  const perOutput = {};
  const problems = [];
  for (const [name, ref] of Object.entries(reference)) {
    const out = got[name];
    if (!out) {
      problems.push(`output ${name} is missing`);
      continue;
    }
    if (out.shape.join("x") !== ref.shape.join("x")) {
      problems.push(`output ${name} has shape ${out.shape.join("x")}, expected ${ref.shape.join("x")}`);
      continue;
    }
    let failed = 0;
    let outputMax = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const r = Number(ref.data[i]);
      const diff = Math.abs(Number(out.data[i]) - r);
      if (!(diff <= atol + rtol * Math.abs(r))) failed++; // written so that NaN fails
      if (!(diff <= outputMax)) outputMax = diff;
    }
    perOutput[name] = outputMax;
    if (!(outputMax <= maxAbs)) maxAbs = outputMax;
    if (failed) problems.push(`output ${name}: ${failed} of ${ref.data.length} elements outside tolerance`);
  }
  return { maxAbs, perOutput, pass: problems.length === 0, problems };
}
