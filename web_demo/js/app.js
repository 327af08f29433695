// The demo page: load both runtimes, predict what is drawn or picked, check parity.
// Sets data-ready="1" on <body> once both models are loaded, and data-parity="pass"|"fail"
// once the parity panel has run (the Playwright tests wait on these).

import { DrawingPad, paintPixels } from "./drawing.js";
import { OrtEngine, TFJS_BACKENDS, TfjsEngine, versions } from "./engines.js";
import { arrayType, compareOutputs, fromGolden } from "./tensors.js";

const $ = (selector) => document.querySelector(selector);
const READY = "Ready: draw a digit or pick one.";
const state = { config: null, engines: {}, pixels: null, queue: Promise.resolve() };
const RUNTIMES = [
  { key: "tfjs", target: "tfjs", title: () => `TensorFlow.js (${state.engines.tfjs.backend})` },
  { key: "ort", target: "onnx", title: () => "ONNX Runtime Web (wasm)" },
];

function setStatus(text, isError = false) {
  $("#status").textContent = text;
  $("#status").classList.toggle("error", isError);
}

/** Run page work one job at a time, so timings never overlap and results arrive in order. */
function enqueue(job) {
  state.queue = state.queue.then(job).catch((error) => {
    console.error(error);
    setStatus(`Error: ${error.message}`, true);
  });
  return state.queue;
}

/** One run on zeros, so shown latencies are steady-state (WebGL compiles its shaders on the first run). */
async function warmUp(engine) {
  const feeds = {};
  for (const { name, shape, dtype } of state.config.signature.inputs) {
    const dims = shape.map((d) => d ?? 1);
    feeds[name] = { dtype, shape: dims, data: new (arrayType(dtype))(dims.reduce((a, b) => a * b, 1)) };
  }
  await engine.run(feeds);
  return engine;
}

async function loadTfjs(backend) {
  state.engines.tfjs?.dispose();
  state.engines.tfjs = await warmUp(await TfjsEngine.load(state.config.artifacts.tfjs, { backend }));
  $("#tfjs-backend").textContent = `active: ${state.engines.tfjs.backend}`;
  $("#backend").value = state.engines.tfjs.backend;
}

// --- predictions -------------------------------------------------------------

function topK(probabilities, k) {
  return Array.from(probabilities, (p, digit) => ({ digit, p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}

function showPrediction(card, probabilities, ms) {
  const rows = topK(probabilities, 3).map(
    ({ digit, p }) =>
      `<li><span class="digit">${digit}</span><span class="bar"><span style="width:${(100 * p).toFixed(1)}%"></span></span>` +
      `<span class="p">${(100 * p).toFixed(1)}%</span></li>`,
  );
  card.querySelector(".top3").innerHTML = rows.join("");
  card.querySelector(".latency").textContent = `${ms.toFixed(2)} ms`;
  card.dataset.top1 = topK(probabilities, 1)[0].digit;
}

async function predict(pixels) {
  state.pixels = pixels;
  paintPixels($("#preview"), pixels);
  const input = state.config.signature.inputs[0].name;
  const output = state.config.signature.outputs[0].name;
  const feeds = { [input]: { dtype: "float32", shape: [1, pixels.length], data: Float32Array.from(pixels) } };
  for (const { key } of RUNTIMES) {
    const start = performance.now();
    const outputs = await state.engines[key].run(feeds);
    showPrediction($(`#card-${key}`), outputs[output].data, performance.now() - start);
  }
}

// --- parity ---------------------------------------------------------------------

async function runParity() {
  delete document.body.dataset.parity;
  const { atol, rtol } = state.config.tolerance;
  $("#tolerance").textContent = `|got − ref| ≤ ${atol} + ${rtol}·|ref|`;
  const rows = [];
  let allPass = true;
  for (const runtime of RUNTIMES) {
    const golden = await (await fetch(state.config.golden[runtime.target])).json();
    const got = await state.engines[runtime.key].run(fromGolden(golden.inputs));
    const result = compareOutputs(got, fromGolden(golden.outputs), state.config.tolerance);
    allPass &&= result.pass;
    const verdict = result.pass ? "PASS" : "FAIL";
    rows.push(
      `<tr data-runtime="${runtime.key}"><td>${runtime.title()}</td><td class="num">${result.maxAbs.toExponential(2)}</td>` +
        `<td><span class="verdict ${verdict.toLowerCase()}" title="${result.problems.join("; ")}">${verdict}</span></td></tr>`,
    );
    $("#golden-size").textContent = `${golden.batch} golden`;
  }
  $("#parity-rows").innerHTML = rows.join("");
  document.body.dataset.parity = allPass ? "pass" : "fail";
}

// --- page set-up ------------------------------------------------------------------

function addSamples(samples, pad) {
  const holder = $("#samples");
  for (const sample of samples) {
    const button = document.createElement("button");
    button.className = "sample";
    button.title = `test digit #${sample.index} (label ${sample.label})`;
    button.dataset.label = sample.label;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 48;
    paintPixels(canvas, sample.pixels);
    button.append(canvas);
    button.addEventListener("click", () => {
      pad.showSample(sample.pixels);
      document.body.dataset.input = `sample-${sample.label}`;
      enqueue(() => predict(Float32Array.from(sample.pixels)));
    });
    holder.append(button);
  }
}

function setUpInput() {
  const pad = new DrawingPad($("#pad"), (pixels, source) => {
    document.body.dataset.input = source;
    enqueue(() => predict(pixels));
  });
  $("#clear").addEventListener("click", () => pad.clear());
  addSamples(state.config.samples, pad);
}

function setUpBackendSelector() {
  const select = $("#backend");
  select.innerHTML = TFJS_BACKENDS.map((name) => `<option value="${name}">${name}</option>`).join("");
  select.addEventListener("change", () =>
    enqueue(async () => {
      select.disabled = true;
      setStatus(`Switching TF.js to ${select.value}…`);
      await loadTfjs(select.value);
      if (state.pixels) await predict(state.pixels);
      await runParity();
      setStatus(state.config.drawing ? READY : "Ready.");
      select.disabled = false;
    }),
  );
}

async function main() {
  state.config = await (await fetch("config.json")).json();
  $("#model-name").textContent = state.config.model;
  setUpBackendSelector();
  const requested = new URLSearchParams(location.search).get("backend") ?? "webgl";
  const [, ort] = await Promise.all([loadTfjs(requested), OrtEngine.load(state.config.artifacts.onnx)]);
  state.engines.ort = await warmUp(ort);
  const { tfjs, ort: ortVersion } = versions();
  $("#versions").textContent = `@tensorflow/tfjs ${tfjs} · onnxruntime-web ${ortVersion} · served locally`;
  document.body.dataset.ready = "1";
  if (state.config.drawing) {
    setUpInput();
    document.querySelector("#samples .sample")?.click();
  } else {
    document.body.classList.add("no-drawing");
  }
  await enqueue(async () => {
    setStatus("Checking parity…");
    await runParity();
    setStatus(state.config.drawing ? READY : "Ready.");
  });
}

main().catch((error) => {
  console.error(error);
  document.body.dataset.error = error.message;
  setStatus(`Could not start: ${error.message}`, true);
});
