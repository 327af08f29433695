// How named tensors are shown: one section per name. A classifier-like output (rank 2, more
// than one class) shows its top 3 classes; any other tensor its shape and first values.
// Names come from the user's model, so everything put into HTML is escaped.

const FIRST_VALUES = 6;
const TOP_K = 3;

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function isClassifierLike({ shape }) {
  return shape.length === 2 && shape[1] > 1;
}

/** 4 significant digits; exponent notation only for very large or very small magnitudes. */
export function formatNumber(value) {
  const v = Number(value);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  if (!Number.isFinite(v)) return String(v);
  const magnitude = Math.abs(v);
  return magnitude >= 1e4 || magnitude < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** The top classes of the first row, as [{label, value}]. */
export function topK({ shape, data }, k = TOP_K) {
  const row = Array.from(data.slice(0, shape[1]), Number);
  return row
    .map((value, label) => ({ label, value }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k);
}

/** A softmax-like row shows percentages; any other row its raw scores, bars scaled to the largest. */
function topList(tensor) {
  const row = Array.from(tensor.data.slice(0, tensor.shape[1]), Number);
  const sum = row.reduce((a, b) => a + b, 0);
  const probabilities = row.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3;
  const largest = Math.max(...row.map(Math.abs), 1e-12);
  const items = topK(tensor).map(({ label, value }) => {
    const width = probabilities ? 100 * value : (100 * Math.abs(value)) / largest;
    const shown = probabilities ? `${(100 * value).toFixed(1)}%` : formatNumber(value);
    return (
      `<li><span class="cls">${label}</span><span class="bar"><span style="width:${width.toFixed(1)}%"></span></span>` +
      `<span class="p">${shown}</span></li>`
    );
  });
  return `<ol class="top3">${items.join("")}</ol>`;
}

/** "[0.1, 0.2, … 30 more]" for the first values of a tensor. */
export function firstValues({ data }, count = FIRST_VALUES) {
  const shown = Array.from(data.slice(0, count), (v) => (typeof v === "string" ? JSON.stringify(v) : formatNumber(v)));
  const rest = data.length - shown.length;
  return `[${shown.join(", ")}${rest > 0 ? `, … ${rest} more` : ""}]`;
}

function shapeText(shape) {
  return Array.from(shape).join("×") || "scalar";
}

/** One tensor's section; `top` false forces the values view (inputs are never "classified"). */
export function tensorSection(name, tensor, top = true) {
  const title = `<h4><span class="name">${escapeHtml(name)}</span> <span class="shape">${shapeText(tensor?.shape ?? [])}</span></h4>`;
  if (!tensor) return `<section class="output" data-output="${escapeHtml(name)}">${title}<p class="error">missing</p></section>`;
  const body = top && isClassifierLike(tensor) ? topList(tensor) : `<p class="values">${escapeHtml(firstValues(tensor))}</p>`;
  return `<section class="output" data-output="${escapeHtml(name)}">${title}${body}</section>`;
}

/** Every output of `specs` (signature order) into `holder`. */
export function renderTensors(holder, tensors, specs, top = true) {
  holder.innerHTML = specs.map(({ name }) => tensorSection(name, tensors[name], top)).join("");
}

/** The top class of the first classifier-like output, or undefined: what the tests and the digits page read. */
export function firstTopClass(outputs, specs) {
  const spec = specs.find(({ name }) => outputs[name] && isClassifierLike(outputs[name]));
  return spec ? topK(outputs[spec.name], 1)[0].label : undefined;
}
