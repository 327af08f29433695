'use strict';
/**
 * TF.js graph models in Node.js (backends "cpu" and "wasm") behind a line-delimited JSON protocol.
 *
 * One request per stdin line, exactly one response per stdout line, handled strictly in order.
 * Every request may carry a "seq" number, echoed in its response.
 *
 *   {"cmd": "ping"}                                        -> {"ok": true, "versions": {...}}
 *   {"cmd": "load", "id", "model_dir", "backend", "threads"} -> {"ok": true, "inputs": [...], "outputs": [...], "threads": n}
 *   {"cmd": "infer", "id", "inputs": {name: tensor}}       -> {"ok": true, "outputs": {name: tensor}}
 *   {"cmd": "infer", "id", "inputs", "nodes": [node name]} -> {"ok": true, "outputs": {...}, "nodes": {node name: tensor}}
 *   {"cmd": "time", "id", "inputs", "warmup", "runs"}      -> {"ok": true, "latencies_ms": [...]}
 *   {"cmd": "close", "id"}                                 -> {"ok": true}
 *
 * A tensor is {"dtype": "float32"|"int32"|"bool", "shape": [...], "data": base64 of little-endian bytes},
 * or, for string inputs, {"dtype": "string", "shape": [...], "strings": [...] row-major}.
 * Inputs and outputs are keyed by the model.json signature's names without the ":0" suffix.
 * A failure is {"error": "one line", "kind": "inputs"|"load"|"execute"|"protocol"}; the process keeps serving.
 */

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const util = require('util');

// stdout carries the protocol only: TF.js prints warnings through console.*, send those to stderr.
// Drop the cpu backend's "install @tensorflow/tfjs-node" banner: it cannot be installed offline, and
// it would crowd real warnings out of the stderr tail that Python quotes when the server dies.
const BANNER = /install our node backend/;
for (const method of ['log', 'info', 'warn', 'debug']) {
  console[method] = (...args) => {
    const text = util.format(...args);
    if (!BANNER.test(text)) process.stderr.write(text + '\n');
  };
}

const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

// The .wasm binaries ship in the package: point the backend at them so nothing is fetched.
wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);

const BACKENDS = new Set(['cpu', 'wasm']);
// Activations the cpu and wasm backends implement inside fused ops (tfjs-backend-cpu applyActivation,
// tfjs-backend-wasm FusableActivation, 4.22.0); anything else fails only when that node runs.
const FUSABLE_ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu']);
const FUSED_OPS = new Set(['_FusedMatMul', '_FusedConv2D', 'FusedConv2D', 'FusedDepthwiseConv2dNative']);
const TYPED_ARRAYS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };
const models = new Map(); // id -> {model, backend, needsAsync, inputs: {name: tensorName}, outputs: {...}}

/** An error whose `kind` tells the Python side which typed error to raise. */
class RequestError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** "pixels:0" -> "pixels": the signature keys tensors by tensor name, the toolkit by plain name. */
function plainName(key) {
  return key.split(':')[0];
}

/** Switch the process-wide backend; models keep their weights on the backend they were loaded with. */
async function useBackend(backend) {
  if (!BACKENDS.has(backend)) {
    throw new RequestError('protocol', `unknown backend '${backend}'; choose cpu or wasm`);
  }
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new RequestError('load', `TF.js backend '${backend}' failed to initialize (see the server's stderr)`);
  }
}

/** model.json plus its weight shards, read with fs: file:// URLs would need @tensorflow/tfjs-node. */
function readArtifacts(modelDir) {
  const modelJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest || []) {
    specs.push(...group.weights);
    for (const shard of group.paths) {
      buffers.push(fs.readFileSync(path.join(modelDir, shard)));
    }
  }
  const weights = Buffer.concat(buffers);
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    signature: modelJson.signature,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    modelInitializer: modelJson.modelInitializer,
    initializerSignature: modelJson.initializerSignature,
    weightSpecs: specs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

/** Graph nodes, including those of functions (the bodies of If/While ops). */
function* graphNodes(topology) {
  yield* topology.node || [];
  for (const fn of (topology.library && topology.library.function) || []) {
    yield* fn.nodeDef || [];
  }
}

/**
 * Fused ops whose activation these backends lack, as "node (activation)". Checked at load because
 * TF.js fails only when such a node runs: a model with a branch could pass on some inputs and not others.
 */
function unsupportedFusedActivations(topology) {
  const found = [];
  for (const node of graphNodes(topology)) {
    const fused = FUSED_OPS.has(node.op) && node.attr && node.attr.fused_ops && node.attr.fused_ops.list;
    const activation = fused && fused.s && fused.s[1] && Buffer.from(fused.s[1], 'base64').toString().toLowerCase();
    if (activation && !FUSABLE_ACTIVATIONS.has(activation)) {
      found.push(`${node.name} (${node.op} + ${activation})`);
    }
  }
  return found;
}

/** Plain name -> graph tensor name, from the signature (or the graph's own nodes when there is none). */
function tensorNames(signatureSide, fallbackNames) {
  const names = {};
  if (signatureSide) {
    for (const [key, info] of Object.entries(signatureSide)) {
      names[plainName(key)] = info.name || key;
    }
  } else {
    for (const name of fallbackNames) {
      names[plainName(name)] = name;
    }
  }
  return names;
}

/** Signature inputs the caller feeds: a lookup table's resource (with a resourceId) is fed by TF.js from the initializer. */
function callerInputs(signatureInputs) {
  if (!signatureInputs) return signatureInputs;
  return Object.fromEntries(Object.entries(signatureInputs).filter(([, info]) => info.resourceId == null));
}

async function load({ id, model_dir: modelDir, backend = 'cpu', threads = null }) {
  if (!id || !modelDir) {
    throw new RequestError('protocol', 'load needs "id" and "model_dir"');
  }
  // The cpu backend is plain JavaScript, and tfjs-backend-wasm disables its threaded build under
  // Node.js (tfjs issue #3830; its worker is a blob: URL that worker_threads refuses): one thread only.
  if (threads != null && threads !== 1) {
    throw new RequestError('load', `TF.js runs single-threaded in Node.js; pass threads=1 (got ${threads})`);
  }
  await useBackend(backend);
  let artifacts;
  try {
    artifacts = readArtifacts(modelDir);
  } catch (error) {
    throw new RequestError('load', `cannot read the TF.js model in ${modelDir}: ${error.message}`);
  }
  const unsupported = unsupportedFusedActivations(artifacts.modelTopology || {});
  if (unsupported.length) {
    throw new RequestError('load', `TF.js ${backend} backend cannot run fused activation(s) in ${unsupported.join(', ')}; ` +
      'the exporter must keep such activations as separate ops');
  }
  let model;
  try {
    model = await tf.loadGraphModel({ load: async () => artifacts });
  } catch (error) {
    throw new RequestError('load', `tf.loadGraphModel failed for ${modelDir}: ${error.message}`);
  }
  disposeModel(id); // loading again under the same id replaces the old model
  const signature = artifacts.signature || {};
  const entry = {
    model,
    backend,
    needsAsync: false, // set on the first run that execute() refuses
    inputs: tensorNames(callerInputs(signature.inputs), model.inputNodes),
    outputs: tensorNames(signature.outputs, model.outputNodes),
  };
  models.set(id, entry);
  return { inputs: Object.keys(entry.inputs), outputs: Object.keys(entry.outputs), threads: 1 };
}

function decodeTensor(name, { dtype, shape, data, strings }) {
  if (dtype === 'string') {
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(strings) || strings.length !== count) {
      throw new RequestError('inputs', `input '${name}' needs ${count} strings for shape [${shape}]`);
    }
    return tf.tensor(strings, shape, 'string');
  }
  const TypedArray = TYPED_ARRAYS[dtype];
  if (!TypedArray) {
    throw new RequestError('inputs', `input '${name}' has dtype ${dtype}; TF.js takes ${Object.keys(TYPED_ARRAYS).join(', ')}, string`);
  }
  const bytes = Buffer.from(data || '', 'base64');
  // Copy into a fresh ArrayBuffer: Buffer slices of the shared pool are not aligned for Float32Array.
  const values = new TypedArray(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new RequestError('inputs', `input '${name}' has ${values.length} values for shape [${shape}]`);
  }
  return tf.tensor(values, shape, dtype);
}

async function encodeTensor(tensor) {
  let values = await tensor.data();
  // The cpu backend casts bool/int32 to float32 without copying: data() then keeps the narrower array type.
  const TypedArray = TYPED_ARRAYS[tensor.dtype];
  if (TypedArray && !(values instanceof TypedArray)) values = TypedArray.from(values);
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { dtype: tensor.dtype, shape: tensor.shape, data: bytes.toString('base64') };
}

/** The loaded model for `id`, with the process-wide backend switched to the one it was loaded on. */
async function modelFor(id) {
  const entry = models.get(id);
  if (!entry) {
    throw new RequestError('protocol', `no model is loaded under id '${id}'; send "load" first`);
  }
  await useBackend(entry.backend);
  return entry;
}

/** Input tensors keyed by graph tensor name; names are checked here so a typo gets a clear message. */
function feedTensors(entry, inputs) {
  const given = Object.keys(inputs || {});
  const expected = Object.keys(entry.inputs);
  const unknown = given.filter((name) => !(name in entry.inputs));
  const missing = expected.filter((name) => !given.includes(name));
  if (unknown.length || missing.length) {
    const problems = [];
    if (unknown.length) problems.push(`unknown input(s) ${unknown.join(', ')}`);
    if (missing.length) problems.push(`missing input(s) ${missing.join(', ')}`);
    throw new RequestError('inputs', `${problems.join('; ')}; the model's inputs are ${expected.join(', ')}`);
  }
  const feeds = {};
  try {
    for (const name of given) {
      feeds[entry.inputs[name]] = decodeTensor(name, inputs[name]);
    }
  } catch (error) {
    tf.dispose(Object.values(feeds));
    throw error;
  }
  return feeds;
}

/**
 * One forward pass. Graphs with control flow or dynamic shapes (the If/Switch/Merge of dynamic_branch)
 * need executeAsync; TF.js rejects them in execute() before computing anything, so try the faster
 * synchronous execute first and remember the answer per model. (executeAsync on a static graph works
 * too, but warns on every call.)
 */
async function run(entry, feeds, nodes = []) {
  const outputNames = Object.keys(entry.outputs);
  const tensorNamesOut = outputNames.map((name) => entry.outputs[name]).concat(nodes);
  let result;
  try {
    if (!entry.needsAsync) {
      try {
        result = entry.model.execute(feeds, tensorNamesOut);
      } catch (error) {
        if (!/executeAsync/.test(error.message)) throw error;
        entry.needsAsync = true;
      }
    }
    if (entry.needsAsync) {
      result = await entry.model.executeAsync(feeds, tensorNamesOut);
    }
  } catch (error) {
    throw new RequestError('execute', error.message);
  }
  const tensors = Array.isArray(result) ? result : [result];
  // `nodes`: intermediate graph nodes by name (toolkit explain), returned beside the outputs.
  return {
    outputs: Object.fromEntries(outputNames.map((name, i) => [name, tensors[i]])),
    nodes: Object.fromEntries(nodes.map((name, i) => [name, tensors[outputNames.length + i]])),
  };
}

async function encodeAll(tensors) {
  const encoded = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    encoded[name] = await encodeTensor(tensor);
  }
  return encoded;
}

async function infer({ id, inputs, nodes = [] }) {
  const entry = await modelFor(id);
  const feeds = feedTensors(entry, inputs);
  try {
    const result = await run(entry, feeds, nodes);
    const response = { outputs: await encodeAll(result.outputs) };
    if (nodes.length) response.nodes = await encodeAll(result.nodes);
    tf.dispose([...Object.values(result.outputs), ...Object.values(result.nodes)]);
    return response;
  } finally {
    tf.dispose(Object.values(feeds));
  }
}

/** Per-run latency in ms measured here, so the pipe and base64 costs are not counted; reading outputs is. */
async function time({ id, inputs, warmup = 5, runs = 20 }) {
  const entry = await modelFor(id);
  const feeds = feedTensors(entry, inputs);
  const latencies = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const start = process.hrtime.bigint();
      const { outputs } = await run(entry, feeds);
      await Promise.all(Object.values(outputs).map((tensor) => tensor.data()));
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      tf.dispose(Object.values(outputs));
      if (i >= warmup) latencies.push(elapsed);
    }
  } finally {
    tf.dispose(Object.values(feeds));
  }
  return { latencies_ms: latencies };
}

function disposeModel(id) {
  const entry = models.get(id);
  if (entry) {
    entry.model.dispose();
    models.delete(id);
  }
}

async function close({ id }) {
  disposeModel(id);
  return {};
}

async function ping() {
  return { versions: { tfjs: tf.version.tfjs, node: process.versions.node }, backend: tf.getBackend() || null, models: models.size };
}

const COMMANDS = { ping, load, infer, time, close };

/** Parse one line, run its command, return the response object; never throws. */
async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return { error: `request is not JSON: ${error.message}`, kind: 'protocol' };
  }
  const seq = request.seq;
  const command = COMMANDS[request.cmd];
  if (!command) {
    return { seq, error: `unknown command '${request.cmd}'; known: ${Object.keys(COMMANDS).join(', ')}`, kind: 'protocol' };
  }
  try {
    return { seq, ok: true, ...(await command(request)) };
  } catch (error) {
    const message = String(error && error.message ? error.message : error).split('\n')[0];
    return { seq, error: message, kind: error.kind || 'execute' };
  }
}

function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let queue = Promise.resolve();
  // Requests run one after another: the backend is process-wide and responses must stay in order.
  lines.on('line', (line) => {
    if (!line.trim()) return;
    queue = queue.then(() => handle(line)).then((response) => process.stdout.write(JSON.stringify(response) + '\n'));
  });
  lines.on('close', () => queue.then(() => process.exit(0)));
}

main();
