// The training preprocessing, in the browser: decode (EXIF orientation applied), RGB, then
// Pillow's BILINEAR resize re-implemented exactly (a triangle filter whose support widens
// with the scale, 8-bit fixed-point coefficients, two passes in Pillow's order), so the
// browser feeds the network the same 0..255 pixels as the server.
(function () {
  const PRECISION_BITS = 32 - 8 - 2;
  const ONE = 2 ** PRECISION_BITS;
  const HALF = 2 ** (PRECISION_BITS - 1);

  function coefficients(inSize, outSize) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1.0);
    const support = 1.0 * filterScale; // bilinear filter support is 1
    const rows = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const ss = 1.0 / filterScale;
      let xmin = Math.trunc(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      let xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      const k = new Float64Array(xmax);
      let ww = 0.0;
      for (let x = 0; x < xmax; x++) {
        const t = Math.abs((x + xmin - center + 0.5) * ss);
        const w = t < 1.0 ? 1.0 - t : 0.0;
        k[x] = w;
        ww += w;
      }
      const fixed = new Float64Array(xmax);
      for (let x = 0; x < xmax; x++) {
        const v = ww !== 0.0 ? k[x] / ww : k[x];
        fixed[x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
      }
      rows.push({ xmin, k: fixed });
    }
    return rows;
  }

  function clip8(value) {
    const v = Math.floor(value / ONE);
    return v < 0 ? 0 : v > 255 ? 255 : v;
  }

  // One pass of the separable filter along the rows (each row resized to outW) or the columns (each
  // column resized to outH). src holds `channels` values per pixel (4 for the canvas's RGBA, 3 after a
  // first pass); the result is RGB.
  function resizeRows(src, width, height, channels, outW) {
    const cx = coefficients(width, outW);
    const out = new Uint8Array(outW * height * 3);
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const { xmin, k } = cx[xx];
        for (let c = 0; c < 3; c++) {
          let ss = HALF;
          for (let x = 0; x < k.length; x++) ss += src[(y * width + x + xmin) * channels + c] * k[x];
          out[(y * outW + xx) * 3 + c] = clip8(ss);
        }
      }
    }
    return out;
  }

  function resizeColumns(src, width, height, channels, outH) {
    const cy = coefficients(height, outH);
    const out = new Uint8Array(width * outH * 3);
    for (let yy = 0; yy < outH; yy++) {
      const { xmin: ymin, k } = cy[yy];
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          let ss = HALF;
          for (let y = 0; y < k.length; y++) ss += src[((y + ymin) * width + x) * channels + c] * k[y];
          out[(yy * width + x) * 3 + c] = clip8(ss);
        }
      }
    }
    return out;
  }

  function rgbOf(rgba, pixels) {
    const out = new Uint8Array(pixels * 3);
    for (let i = 0; i < pixels; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = rgba[i * 4 + c];
    return out;
  }

  // rgba: Uint8ClampedArray (w*h*4). Returns Uint8Array (outW*outH*3) of RGB. A pass whose size is
  // unchanged is skipped, as Pillow does. Pillow 13 resizes the columns first when the height shrinks
  // by more than twice as many pixels as the width (python-pillow#9549); the order changes the rounding
  // of the 8-bit intermediate, so it is followed here.
  function resizeBilinear(rgba, width, height, outW, outH) {
    if (outH < height && height - outH > 2 * (width - outW)) {
      const columns = resizeColumns(rgba, width, height, 4, outH);
      return outW === width ? columns : resizeRows(columns, width, outH, 3, outW);
    }
    const rows = outW === width ? rgbOf(rgba, width * height) : resizeRows(rgba, width, height, 4, outW);
    return outH === height ? rows : resizeColumns(rows, outW, height, 3, outH);
  }

  // One canvas for every picture read: the live page reads one per camera frame.
  let canvas = null;

  // Resize a drawable (a camera frame, a decoded picture) of width × height as the server resizes a
  // photo; return a Float32Array NHWC (1, size, size, 3) of 0..255.
  function sourceToTensorData(source, width, height, size) {
    canvas = canvas || document.createElement("canvas");
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.clearRect(0, 0, width, height); // a transparent pixel must not keep the previous picture's colour
    context.drawImage(source, 0, 0, width, height);
    const { data } = context.getImageData(0, 0, width, height);
    return Float32Array.from(resizeBilinear(data, width, height, size, size));
  }

  // Decode a Blob the way the server does (EXIF orientation applied) and resize it as above.
  async function blobToTensorData(blob, size) {
    const bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" });
    try {
      return sourceToTensorData(bitmap, bitmap.width, bitmap.height, size);
    } finally {
      bitmap.close();
    }
  }

  window.riimPreprocess = { resizeBilinear, sourceToTensorData, blobToTensorData };
})();
