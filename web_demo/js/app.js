// The demo page for any exported model. config.json says which input it gets ("digits": the
// drawing pad, "image": the image picker, "other": the golden inputs); both runtimes predict on
// it and the parity panel runs the golden inputs. A runtime that cannot load or run the model
// shows why in its own panel and the page goes on without it.
// <body> gets data-kind, data-ready="1" once both runtimes have loaded (or failed), data-input
// (what was last predicted) and data-parity="pass"|"fail"|"incomplete": the Playwright tests wait on these.

import { DrawingPad, paintPixels } from "./drawing.js";
import { OrtEngine, TFJS_BACKENDS, TfjsEngine, timedRun, versions } from "./engines.js";
import { GoldenStepper } from "./golden_input.js";
import { ImagePicker } from "./image_input.js";
import { escapeHtml, firstTopClass, renderTensors } from "./outputs.js";
import { arrayType, compareOutputs, fromGolden } from "./tensors.js";

const $ = (selector) => document.querySelector(selector);
const READY = {
  digits: "Ready: draw a digit or pick one.",
  image: "Ready: pick an image file or a generated sample.",
  other: "Ready: step through the golden inputs.",
};
const state = { config: null, engines: {}, errors: {}, golden: {}, feeds: null, source: null, queue: Promise.resolve() };
const RUNTIMES = [
  { key: "tfjs", target: "tfjs", name: "TensorFlow.js", title: () => `TensorFlow.js (${state.engines.tfjs?.backend ?? $("#backend").value})` },
  { key: "ort", target: "onnx", name: "ONNX Runtime Web", title: () => "ONNX Runtime Web (wasm)" },
];
const card = (runtime) => $(`#card-${runtime.key}`);

function setStatus(text, isError = false) {
  $("#status").textContent = text;
  $("#status").classList.toggle("error", isError);
}

function readyText() {
  const failed = RUNTIMES.filter((runtime) => !state.engines[runtime.key]).map((runtime) => runtime.name);
  return READY[state.config.kind] + (failed.length ? ` (${failed.join(" and ")} could not load the model: see its panel)` : "");
}

/** Run page work one job at a time, so timings never overlap and results arrive in order. */
function enqueue(job) {
  state.queue = state.queue.then(job).catch((error) => {
    console.error(error);
    setStatus(`Error: ${error.message}`, true);
  });
  return state.queue;
}

// --- runtimes -----------------------------------------------------------------------

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

/** A message in the runtime's panel in place of its outputs; null clears it. */
function showCardError(runtime, message) {
  const box = card(runtime).querySelector(".card-error");
  box.hidden = !message;
  box.textContent = message ?? "";
  if (!message) return;
  card(runtime).querySelector(".outputs").innerHTML = "";
  card(runtime).querySelector(".latency").textContent = "—";
  delete card(runtime).dataset.top1;
}

/** Load one runtime's artifact; a failure goes to its panel, not to the page. */
async function loadRuntime(runtime, load) {
  const exportError = state.config.unavailable[runtime.target];
  try {
    if (exportError) throw new Error(`the ${runtime.target} export failed: ${exportError}`);
    state.engines[runtime.key] = await warmUp(await load(state.config.artifacts[runtime.target]));
    delete state.errors[runtime.key];
    showCardError(runtime, null);
  } catch (error) {
    console.error(error);
    state.engines[runtime.key] = null;
    state.errors[runtime.key] = error.message;
    showCardError(runtime, `Could not load the model: ${error.message}`);
  }
}

async function loadTfjs(backend) {
  state.engines.tfjs?.dispose();
  state.engines.tfjs = null;
  await loadRuntime(RUNTIMES[0], (url) => TfjsEngine.load(url, { backend }));
  const active = state.engines.tfjs?.backend;
  $("#tfjs-backend").textContent = active ? `active: ${active}` : "not loaded";
  if (active) $("#backend").value = active;
}

// --- predictions ---------------------------------------------------------------------

async function predict(feeds, source) {
  state.feeds = feeds;
  state.source = source;
  document.body.dataset.input = source;
  const specs = state.config.signature.outputs;
  for (const runtime of RUNTIMES) {
    const engine = state.engines[runtime.key];
    if (!engine) continue;
    try {
      const { outputs, p50, runs } = await timedRun(engine, feeds, state.config.latency_runs);
      renderTensors(card(runtime).querySelector(".outputs"), outputs, specs);
      card(runtime).querySelector(".latency").textContent = `${p50.toFixed(2)} ms`;
      card(runtime).querySelector(".latency-runs").textContent = `(p50 of ${runs} runs)`;
      const top = firstTopClass(outputs, specs);
      if (top === undefined) delete card(runtime).dataset.top1;
      else card(runtime).dataset.top1 = top;
      card(runtime).dataset.input = source;
      showCardError(runtime, null);
    } catch (error) {
      console.error(error);
      showCardError(runtime, `Could not run the model: ${error.message}`);
    }
  }
}

// --- parity --------------------------------------------------------------------------

async function goldenFor(target) {
  state.golden[target] ??= await (await fetch(state.config.golden[target])).json();
  return state.golden[target];
}

/** Three columns, as narrow as a phone allows; the per-output errors (or why not) go under the runtime's name. */
function parityRow(runtime, maxAbs, verdict, { perOutput = [], notes = [] }) {
  const errors = perOutput.map(([name, error]) => `${escapeHtml(name)} <span class="number">${error.toExponential(2)}</span>`);
  const items = [...errors, ...notes.map(escapeHtml)].join(" · ");
  return (
    `<tr data-runtime="${runtime.key}"><td>${escapeHtml(runtime.title())}<div class="details">${items}</div></td>` +
    `<td class="num">${maxAbs}</td><td><span class="verdict ${verdict.toLowerCase()}">${verdict}</span></td></tr>`
  );
}

/** One runtime on the whole golden batch: {status: "pass"|"fail"|"error", html}. */
async function checkRuntime(runtime) {
  const engine = state.engines[runtime.key];
  if (!engine) {
    return { status: "error", html: parityRow(runtime, "—", "ERROR", { notes: [state.errors[runtime.key] ?? "not loaded"] }) };
  }
  try {
    const golden = await goldenFor(runtime.target);
    $("#golden-size").textContent = `${golden.batch} golden`;
    const got = await engine.run(fromGolden(golden.inputs));
    const result = compareOutputs(got, fromGolden(golden.outputs), state.config.tolerance);
    const verdict = result.pass ? "PASS" : "FAIL";
    const details = { perOutput: Object.entries(result.perOutput), notes: result.problems };
    return { status: verdict.toLowerCase(), html: parityRow(runtime, result.maxAbs.toExponential(2), verdict, details) };
  } catch (error) {
    console.error(error);
    return { status: "error", html: parityRow(runtime, "—", "ERROR", { notes: [error.message] }) };
  }
}

async function runParity() {
  delete document.body.dataset.parity;
  const { atol, rtol } = state.config.tolerance;
  $("#tolerance").textContent = `|got − ref| ≤ ${atol} + ${rtol}·|ref|`;
  const rows = [];
  for (const runtime of RUNTIMES) rows.push(await checkRuntime(runtime));
  $("#parity-rows").innerHTML = rows.map((row) => row.html).join("");
  const statuses = rows.map((row) => row.status);
  document.body.dataset.parity = statuses.includes("fail") ? "fail" : statuses.includes("error") ? "incomplete" : "pass";
}

// --- inputs, one set-up per kind of model ------------------------------------------------------

function setUpDigits() {
  const { name } = state.config.signature.inputs[0];
  const show = (pixels, source) => {
    document.body.dataset.input = source;
    paintPixels($("#preview"), pixels);
    const feeds = { [name]: { dtype: "float32", shape: [1, pixels.length], data: Float32Array.from(pixels) } };
    enqueue(() => predict(feeds, source));
  };
  const pad = new DrawingPad($("#pad"), show);
  $("#clear").addEventListener("click", () => pad.clear());
  for (const sample of state.config.samples) {
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
      show(Float32Array.from(sample.pixels), `sample-${sample.label}`);
    });
    $("#samples").append(button);
  }
  $("#samples .sample")?.click();
}

function setUpImage() {
  const image = state.config.image;
  const onPick = (feeds, source) => {
    const values = feeds[image.input].data;
    document.body.dataset.inputMean = (values.reduce((a, b) => a + b, 0) / values.length).toFixed(3);
    enqueue(() => predict(feeds, source));
  };
  new ImagePicker(image, onPick, (message) => setStatus(message, true));
  $("#image-shape").textContent = `${image.height}×${image.width} ${image.channels === 1 ? "grey" : "RGB"}`;
  $("#image-range").textContent = `Values ${image.range_rule}.`;
  $("#image-samples .sample")?.click();
}

async function setUpGolden() {
  const target = RUNTIMES.map((runtime) => runtime.target).find((t) => state.config.golden[t]);
  const golden = await goldenFor(target);
  new GoldenStepper(golden, state.config.signature, (feeds, source) => enqueue(() => predict(feeds, source))).show(0);
}

const INPUTS = { digits: setUpDigits, image: setUpImage, other: setUpGolden };

// --- page set-up ------------------------------------------------------------------

function setUpBackendSelector() {
  const select = $("#backend");
  select.innerHTML = TFJS_BACKENDS.map((name) => `<option value="${name}">${name}</option>`).join("");
  select.addEventListener("change", () =>
    enqueue(async () => {
      select.disabled = true;
      setStatus(`Switching TF.js to ${select.value}…`);
      await loadTfjs(select.value);
      if (state.feeds) await predict(state.feeds, state.source);
      await runParity();
      setStatus(readyText());
      select.disabled = false;
    }),
  );
}

function showModel({ model, kind }) {
  document.title = `${model} · keras-export-toolkit`;
  $("#title").textContent = model;
  $("#model-name").textContent = model;
  document.body.dataset.kind = kind;
}

async function main() {
  state.config = await (await fetch("config.json")).json();
  showModel(state.config);
  setUpBackendSelector();
  const requested = new URLSearchParams(location.search).get("backend") ?? "webgl";
  await Promise.all([loadTfjs(requested), loadRuntime(RUNTIMES[1], (url) => OrtEngine.load(url))]);
  const { tfjs, ort } = versions();
  $("#versions").textContent = `@tensorflow/tfjs ${tfjs} · onnxruntime-web ${ort} · served locally`;
  document.body.dataset.ready = "1";
  try {
    await INPUTS[state.config.kind]();
  } catch (error) {
    console.error(error);
    state.inputError = `Could not set up the inputs: ${error.message}`;
  }
  await enqueue(async () => {
    setStatus("Checking parity…");
    await runParity();
    setStatus(state.inputError ?? readyText(), Boolean(state.inputError));
  });
}

main().catch((error) => {
  console.error(error);
  document.body.dataset.error = error.message;
  setStatus(`Could not start: ${error.message}`, true);
});
