// The drawing pad, and the reduction of a drawing to the model's 64 inputs.
//
// scikit-learn's load_digits (UCI optdigits) was made from 32x32 binary bitmaps of
// size-normalised digits: each 4x4 block's count of "on" pixels (0..16) is one of
// the 8x8 values, and models.digits divides it by 16. The pad keeps the strokes as
// vectors and repeats that: fit the strokes' bounding box to the 32x32 box (the
// digit fills it, aspect kept, centred), render them with a fixed pen, threshold
// to on/off at half coverage, count the on pixels of every 4x4 block, divide by 16.

export const BITMAP = 32;
export const BLOCK = 4;
export const CELLS = BITMAP / BLOCK; // 8

// Pen width in bitmap pixels. The training bitmaps are about 30% ink (312 of 1024
// pixels on average); a 3.5 px pen gives typical hand-drawn digits about that much.
export const PEN = 3.5;

/** Reduce strokes (arrays of {x, y} in any units) to 64 floats in 0..1, row-major like the data set. */
export function reduceStrokes(strokes) {
  const pixels = new Float32Array(CELLS * CELLS);
  const points = strokes.flat();
  if (!points.length) return pixels;
  const bitmap = renderBitmap(strokes, points);
  for (let y = 0; y < BITMAP; y++) {
    for (let x = 0; x < BITMAP; x++) {
      if (bitmap[y * BITMAP + x]) pixels[Math.floor(y / BLOCK) * CELLS + Math.floor(x / BLOCK)] += 1;
    }
  }
  return pixels.map((count) => count / (BLOCK * BLOCK));
}

/** The 32x32 on/off bitmap of the strokes, size-normalised into the box. */
function renderBitmap(strokes, points) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
  const [width, height] = [Math.max(...xs) - minX, Math.max(...ys) - minY];
  // Centre lines fit in BITMAP - PEN so that the ink itself reaches the edges.
  const scale = (BITMAP - PEN) / Math.max(width, height, 1e-6);
  const offsetX = (BITMAP - width * scale) / 2 - minX * scale;
  const offsetY = (BITMAP - height * scale) / 2 - minY * scale;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = BITMAP;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.setTransform(scale, 0, 0, scale, offsetX, offsetY);
  strokePaths(ctx, strokes, PEN / scale);
  const rgba = ctx.getImageData(0, 0, BITMAP, BITMAP).data;
  const bitmap = new Uint8Array(BITMAP * BITMAP);
  for (let i = 0; i < bitmap.length; i++) bitmap[i] = rgba[i * 4 + 3] >= 128 ? 1 : 0;
  return bitmap;
}

/** Stroke every path with round caps and joins; a single tap becomes a dot. */
function strokePaths(ctx, strokes, lineWidth) {
  ctx.lineWidth = lineWidth;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = ctx.fillStyle = "#000";
  for (const stroke of strokes) {
    if (!stroke.length) continue;
    ctx.beginPath();
    if (stroke.length === 1) {
      ctx.arc(stroke[0].x, stroke[0].y, lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.moveTo(stroke[0].x, stroke[0].y);
    for (const p of stroke.slice(1)) ctx.lineTo(p.x, p.y);
    ctx.stroke();
  }
}

/** Paint 64 values (0..1) as an 8x8 grid of grey squares filling `canvas`. */
export function paintPixels(canvas, pixels) {
  const ctx = canvas.getContext("2d");
  const cell = canvas.width / CELLS;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < pixels.length; i++) {
    const ink = Math.round(255 * (1 - pixels[i]));
    ctx.fillStyle = `rgb(${ink}, ${ink}, ${ink})`;
    ctx.fillRect((i % CELLS) * cell, Math.floor(i / CELLS) * cell, Math.ceil(cell), Math.ceil(cell));
  }
}

/**
 * A square canvas to draw on with mouse, pen or touch (pointer events). Strokes are
 * kept in canvas CSS pixels; `onChange(pixels)` gets the reduced 64 values while drawing.
 */
export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.onChange = onChange;
    this.strokes = [];
    this.sample = null; // 64 values shown instead of strokes after a sample was picked
    this.drawing = false;
    this.frame = 0;
    canvas.addEventListener("pointerdown", (event) => this.start(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => this.end());
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  start(event) {
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    if (this.sample) this.clear(false);
    this.drawing = true;
    this.strokes.push([this.point(event)]);
    this.changed();
  }

  move(event) {
    if (!this.drawing) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    const stroke = this.strokes[this.strokes.length - 1];
    for (const e of events.length ? events : [event]) stroke.push(this.point(e));
    this.changed();
  }

  end() {
    if (!this.drawing) return;
    this.drawing = false;
    this.changed();
  }

  clear(notify = true) {
    this.strokes = [];
    this.sample = null;
    this.redraw();
    if (notify) this.onChange(new Float32Array(CELLS * CELLS), "empty");
  }

  showSample(pixels) {
    this.strokes = [];
    this.sample = Float32Array.from(pixels);
    this.redraw();
  }

  pixels() {
    return this.sample ?? reduceStrokes(this.strokes);
  }

  /** Redraw now, and tell the page at most once per animation frame. */
  changed() {
    this.redraw();
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.onChange(this.pixels(), "drawing");
    });
  }

  redraw() {
    const box = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(box.width * ratio);
    this.canvas.height = Math.round(box.height * ratio);
    if (this.sample) return paintPixels(this.canvas, this.sample);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, box.width, box.height);
    strokePaths(ctx, this.strokes, box.width * 0.07);
  }
}
