// The page behind the tfjs-browser and ort-web runtimes (toolkit/runtimes/browser.py):
// window.runner loads one artifact and runs it on tensors Python sends as base64.

import { OrtEngine, TfjsEngine, timeRuns, versions } from "./engines.js";
import { fromBase64, mapValues, toBase64 } from "./tensors.js";

const ENGINES = { tfjs: TfjsEngine, ort: OrtEngine };
let engine = null;

window.runner = {
  /** {engine: "tfjs"|"ort", url, backend?, threads?} -> {backend, versions}. */
  async load({ engine: kind, url, backend, threads }) {
    if (!ENGINES[kind]) throw new Error(`unknown engine ${kind}; use tfjs or ort`);
    engine = await ENGINES[kind].load(url, { backend, threads: threads ?? undefined });
    return { backend: engine.backend, versions: versions(), isolated: self.crossOriginIsolated };
  },

  async infer(feeds) {
    const outputs = await engine.run(mapValues(feeds, fromBase64));
    return mapValues(outputs, toBase64);
  },

  async timeRuns(feeds, warmup, runs) {
    return timeRuns(engine, mapValues(feeds, fromBase64), warmup, runs);
  },
};

document.body.dataset.runner = "ready";
