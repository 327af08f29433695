// Inputs for models that are neither the digits model nor an image model: the golden samples
// written beside each artifact (the ones the parity check uses), one at a time, with what Keras
// answered for each so the runtimes' outputs can be read against it.

import { escapeHtml, firstValues, renderTensors } from "./outputs.js";
import { fromGolden, sliceBatch } from "./tensors.js";

export class GoldenStepper {
  /** `golden`: golden.json as read; `onPick(feeds, source)` gets each sample as a batch of one. */
  constructor(golden, signature, onPick) {
    this.inputs = fromGolden(golden.inputs);
    this.outputs = fromGolden(golden.outputs);
    this.signature = signature;
    this.onPick = onPick;
    this.count = golden.batch;
    this.index = 0;
    document.querySelector("#golden-prev").addEventListener("click", () => this.show(this.index - 1));
    document.querySelector("#golden-next").addEventListener("click", () => this.show(this.index + 1));
  }

  /** Show sample `index` (wrapping around) and run it. */
  show(index) {
    this.index = (index + this.count) % this.count;
    const pick = (tensors) => Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, sliceBatch(t, this.index)]));
    const feeds = pick(this.inputs);
    document.querySelector("#golden-position").textContent = `sample ${this.index + 1} of ${this.count}`;
    document.querySelector("#golden-inputs").innerHTML = this.signature.inputs
      .map(({ name }) => `<li><code>${escapeHtml(name)}</code> ${feeds[name].shape.join("×")} ` +
        `<span class="values">${escapeHtml(firstValues(feeds[name]))}</span></li>`)
      .join("");
    renderTensors(document.querySelector("#golden-reference"), pick(this.outputs), this.signature.outputs);
    this.onPick(feeds, `golden-${this.index}`);
  }
}
