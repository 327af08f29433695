// The page behind the tfjs-browser and ort-web runtimes (toolkit/runtimes/browser.py).
// One page serves many runtime instances of one kind (engine, TF.js backend, threads,
// throttling): each loaded artifact gets an id, so a new instance costs a model load,
// not a page load. Tensors travel from and to Python as base64 bytes.

import { OrtEngine, TfjsEngine, timeRuns, versions } from "./engines.js";
import { fromBase64, mapValues, toBase64 } from "./tensors.js";

const ENGINES = { tfjs: TfjsEngine, ort: OrtEngine };
const loaded = new Map();
let nextId = 1;

function engine(id) {
  const found = loaded.get(id);
  if (!found) throw new Error(`no model with id ${id} is loaded in this page`);
  return found;
}

window.runner = {
  /** {engine: "tfjs"|"ort", url, backend?, threads?} -> {id, backend, versions, isolated}. */
  async load({ engine: kind, url, backend, threads }) {
    if (!ENGINES[kind]) throw new Error(`unknown engine ${kind}; use tfjs or ort`);
    const instance = await ENGINES[kind].load(url, { backend, threads: threads ?? undefined });
    const id = nextId++;
    loaded.set(id, instance);
    return { id, backend: instance.backend, versions: versions(), isolated: self.crossOriginIsolated };
  },

  async infer(id, feeds) {
    const outputs = await engine(id).run(mapValues(feeds, fromBase64));
    return mapValues(outputs, toBase64);
  },

  async timeRuns(id, feeds, warmup, runs) {
    return timeRuns(engine(id), mapValues(feeds, fromBase64), warmup, runs);
  },

  unload(id) {
    loaded.get(id)?.dispose();
    loaded.delete(id);
  },
};

document.body.dataset.runner = "ready";
