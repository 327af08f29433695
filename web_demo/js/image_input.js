// The image picker: a file of the user's, or one of a few images generated here (so the page
// works without a file), drawn to a canvas of the model's H x W and turned into an (1, H, W, C)
// float32 tensor, channels last. C = 3 takes R, G, B; C = 1 takes the luma (0.299 R + 0.587 G +
// 0.114 B). Each 0..255 value v becomes low + (high - low) * v / 255 with [low, high] from
// config.json's image.range (toolkit/demo/kinds.py says how it is chosen).

const SAMPLE_SIZE = 96;

// Generated samples: a name and a painter for a square 2D context of SAMPLE_SIZE pixels.
const SAMPLES = {
  gradient(ctx, s) {
    const g = ctx.createLinearGradient(0, 0, s, s);
    g.addColorStop(0, "#e63946");
    g.addColorStop(0.5, "#f1c453");
    g.addColorStop(1, "#1d6fd8");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, s, s);
  },
  checkers(ctx, s) {
    const cell = s / 8;
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        ctx.fillStyle = (x + y) % 2 ? "#111" : "#f5f5f5";
        ctx.fillRect(x * cell, y * cell, cell, cell);
      }
    }
  },
  sun(ctx, s) {
    ctx.fillStyle = "#7cc3f2";
    ctx.fillRect(0, 0, s, s);
    ctx.fillStyle = "#3f9b3a";
    ctx.fillRect(0, s * 0.72, s, s * 0.28);
    ctx.fillStyle = "#ffd23f";
    ctx.beginPath();
    ctx.arc(s * 0.62, s * 0.36, s * 0.2, 0, 2 * Math.PI);
    ctx.fill();
  },
  stripes(ctx, s) {
    const colours = ["#2a9d8f", "#e9c46a", "#f4a261", "#264653"];
    for (let i = -s; i < s; i += s / 8) {
      ctx.fillStyle = colours[Math.abs(Math.round(i / (s / 8))) % colours.length];
      ctx.beginPath();
      ctx.moveTo(i, 0);
      ctx.lineTo(i + s / 8, 0);
      ctx.lineTo(i + s / 8 + s, s);
      ctx.lineTo(i + s, s);
      ctx.fill();
    }
  },
};

function sampleCanvas(paint) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = SAMPLE_SIZE;
  paint(canvas.getContext("2d"), SAMPLE_SIZE);
  return canvas;
}

/** Draw `source` (canvas, image or bitmap) stretched to width x height; returns the RGBA bytes. */
function resizedPixels(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

/** RGBA bytes -> {dtype, shape: [1, H, W, C], data} in the input's value range. */
export function imageTensor(imageData, { channels, range: [low, high] }) {
  const { width, height, data: rgba } = imageData;
  const values = new Float32Array(width * height * channels);
  const scale = (high - low) / 255;
  for (let p = 0; p < width * height; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    if (channels === 1) {
      values[p] = low + scale * (0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      values[3 * p] = low + scale * r;
      values[3 * p + 1] = low + scale * g;
      values[3 * p + 2] = low + scale * b;
    }
  }
  return { dtype: "float32", shape: [1, height, width, channels], data: values };
}

/**
 * The picker's controls in the page: `#image-file`, `#image-samples` and the `#image-preview`
 * canvas. `onPick(feeds, source)` gets the model's feeds and a name for what was picked;
 * `onError(message)` hears about a file that is not an image.
 */
export class ImagePicker {
  constructor(image, onPick, onError) {
    this.image = image;
    this.onPick = onPick;
    this.onError = onError;
    this.preview = document.querySelector("#image-preview");
    document.querySelector("#image-file").addEventListener("change", (event) => this.pickFile(event.target));
    this.addSamples();
  }

  addSamples() {
    const holder = document.querySelector("#image-samples");
    for (const [name, paint] of Object.entries(SAMPLES)) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sample";
      button.title = `generated sample: ${name}`;
      button.dataset.sample = name;
      const canvas = sampleCanvas(paint);
      button.append(canvas);
      button.addEventListener("click", () => this.use(canvas, `sample-${name}`));
      holder.append(button);
    }
  }

  async pickFile(input) {
    const file = input.files?.[0];
    if (!file) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      this.onError(`${file.name} is not an image this browser can decode`);
      return;
    }
    this.use(bitmap, `file:${file.name}`);
    bitmap.close();
  }

  /** Resize `source` into the model's input, show what the model sees, and hand the feeds on. */
  use(source, name) {
    const { height, width, input } = this.image;
    const pixels = resizedPixels(source, width, height);
    const feeds = { [input]: imageTensor(pixels, this.image) };
    this.showPreview(pixels);
    this.onPick(feeds, name);
  }

  showPreview(pixels) {
    const small = document.createElement("canvas");
    small.width = pixels.width;
    small.height = pixels.height;
    const ctx = small.getContext("2d");
    if (this.image.channels === 1) greyscale(pixels);
    ctx.putImageData(pixels, 0, 0);
    const view = this.preview.getContext("2d");
    view.imageSmoothingEnabled = false; // show the model's pixels, not a blur of them
    view.clearRect(0, 0, this.preview.width, this.preview.height);
    view.drawImage(small, 0, 0, this.preview.width, this.preview.height);
  }
}

/** In place: each pixel's RGB set to its luma, so the preview matches a one-channel input. */
function greyscale({ data }) {
  for (let i = 0; i < data.length; i += 4) {
    const luma = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    data[i] = data[i + 1] = data[i + 2] = luma;
  }
}
