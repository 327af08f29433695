// The two in-browser runtimes behind one interface: `await Engine.load(url, options)`,
// `await engine.run(feeds)` with named tensors in and out, `engine.backend`.
// TF.js comes from classic <script> tags (window.tf); onnxruntime-web is an ES module.
// Every file is served from web_demo/node_modules: nothing is fetched from a CDN.

import * as ort from "../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

const tf = window.tf;
const here = (path) => new URL(path, import.meta.url).href;

tf.wasm.setWasmPaths(here("../node_modules/@tensorflow/tfjs-backend-wasm/dist/"));
ort.env.wasm.wasmPaths = here("../node_modules/onnxruntime-web/dist/");

export const TFJS_BACKENDS = ["webgl", "wasm", "cpu"];

export const versions = () => ({ tfjs: tf.version.tfjs, ort: ort.env.versions?.web ?? "unknown" });

/** Switch TF.js to `requested`, falling back to wasm then cpu (webgl needs a GPU or SwiftShader). */
async function useTfjsBackend(requested, threads) {
  if (threads && tf.getBackend() !== "wasm") tf.wasm.setThreadsCount(threads); // only before wasm starts
  const order = [requested, ...TFJS_BACKENDS.filter((name) => name !== requested && name !== "webgl")];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch (error) {
      console.warn(`TF.js backend ${name} failed to start: ${error.message}`);
    }
  }
  throw new Error("no TF.js backend could start (tried " + order.join(", ") + ")");
}

// TF.js has no int64 or float64 tensors: the converter maps those to int32 / float32.
const TFJS_DTYPES = { float32: "float32", float64: "float32", int32: "int32", int64: "int32", int8: "int32", uint8: "int32", bool: "bool", string: "string" };

function toTfjsTensor({ dtype, shape, data }) {
  const tfDtype = TFJS_DTYPES[dtype];
  const values = dtype === "int64" ? Int32Array.from(data, Number) : data;
  return tf.tensor(values, shape, tfDtype);
}

export class TfjsEngine {
  static async load(url, { backend = "wasm", threads } = {}) {
    const active = await useTfjsBackend(backend, threads);
    const model = await tf.loadGraphModel(url);
    return new TfjsEngine(model, active);
  }

  constructor(model, backend) {
    this.model = model;
    this.backend = backend;
    // Signature keys are what execute() takes; the converter may key them "pixels" or "pixels:0".
    const signature = model.modelSignature ?? {};
    const keys = (entries, fallback) => entries ? Object.keys(entries) : fallback.map((t) => t.name);
    const byName = (list) => Object.fromEntries(list.map((key) => [key.split(":")[0], key]));
    // A lookup table's resource input (with a resourceId) is fed by TF.js from the model's initializer.
    const fed = signature.inputs && Object.fromEntries(Object.entries(signature.inputs).filter(([, info]) => info.resourceId == null));
    this.inputKeys = byName(keys(fed, model.inputs));
    this.outputKeys = byName(keys(signature.outputs, model.outputs));
  }

  async run(feeds) {
    const inputs = {};
    for (const [name, key] of Object.entries(this.inputKeys)) {
      if (!feeds[name]) throw new Error(`input ${name} is missing`);
      inputs[key] = toTfjsTensor(feeds[name]);
    }
    const names = Object.keys(this.outputKeys);
    const keys = names.map((name) => this.outputKeys[name]);
    let result;
    try {
      result = this.model.execute(inputs, keys);
    } catch (error) {
      // Graphs with control flow (while loops, dynamic shapes) only run asynchronously.
      if (!/executeAsync/.test(error.message)) throw error;
      result = await this.model.executeAsync(inputs, keys);
    }
    const tensors = Array.isArray(result) ? result : [result];
    const outputs = {};
    for (let i = 0; i < names.length; i++) {
      outputs[names[i]] = { dtype: tensors[i].dtype, shape: tensors[i].shape, data: await tensors[i].data() };
    }
    tf.dispose([...Object.values(inputs), ...tensors]);
    return outputs;
  }

  dispose() {
    this.model.dispose();
  }
}

export class OrtEngine {
  static async load(url, { threads } = {}) {
    if (threads) ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(url, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    return new OrtEngine(session);
  }

  constructor(session) {
    this.session = session;
    this.backend = "wasm";
  }

  async run(feeds) {
    const inputs = {};
    for (const name of this.session.inputNames) {
      const feed = feeds[name];
      if (!feed) throw new Error(`input ${name} is missing`);
      inputs[name] = new ort.Tensor(feed.dtype, feed.data, feed.shape);
    }
    const results = await this.session.run(inputs);
    const outputs = {};
    for (const name of this.session.outputNames) {
      const tensor = results[name];
      outputs[name] = { dtype: tensor.type, shape: tensor.dims, data: tensor.data };
    }
    return outputs;
  }

  dispose() {
    this.session.release();
  }
}

/** Latency of `runs` calls after `warmup`, in ms, each including tensor creation and read-back. */
export async function timeRuns(engine, feeds, warmup = 5, runs = 50) {
  for (let i = 0; i < warmup; i++) await engine.run(feeds);
  const latencies = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await engine.run(feeds);
    latencies.push(performance.now() - start);
  }
  return latencies;
}

/** Median of a list of numbers (the p50 the page shows). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `runs` calls on the same feeds: the last outputs and the p50 latency in ms. */
export async function timedRun(engine, feeds, runs) {
  const latencies = [];
  let outputs;
  for (let i = 0; i < Math.max(1, runs); i++) {
    const start = performance.now();
    outputs = await engine.run(feeds);
    latencies.push(performance.now() - start);
  }
  return { outputs, p50: median(latencies), runs: latencies.length };
}
