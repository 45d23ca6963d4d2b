// The training preprocessing, in the browser: decode (EXIF orientation applied), RGB, then
// Pillow's BILINEAR resize re-implemented exactly (a triangle filter whose support widens
// with the scale, 8-bit fixed-point coefficients, horizontal pass then vertical pass), so the
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

  // rgba: Uint8ClampedArray (w*h*4). Returns Uint8Array (size*size*3) of RGB.
  function resizeBilinear(rgba, width, height, outW, outH) {
    let src = rgba, srcW = width;
    let channels = 4;
    // Horizontal pass (skipped when the width is unchanged, as Pillow does).
    let horiz;
    if (outW !== width) {
      const cx = coefficients(width, outW);
      horiz = new Uint8Array(outW * height * 3);
      for (let y = 0; y < height; y++) {
        for (let xx = 0; xx < outW; xx++) {
          const { xmin, k } = cx[xx];
          for (let c = 0; c < 3; c++) {
            let ss = HALF;
            for (let x = 0; x < k.length; x++) ss += src[(y * srcW + x + xmin) * channels + c] * k[x];
            horiz[(y * outW + xx) * 3 + c] = clip8(ss);
          }
        }
      }
    } else {
      horiz = new Uint8Array(width * height * 3);
      for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) horiz[i * 3 + c] = src[i * 4 + c];
    }
    if (outH === height) return horiz;
    const cy = coefficients(height, outH);
    const out = new Uint8Array(outW * outH * 3);
    for (let yy = 0; yy < outH; yy++) {
      const { xmin: ymin, k } = cy[yy];
      for (let xx = 0; xx < outW; xx++) {
        for (let c = 0; c < 3; c++) {
          let ss = HALF;
          for (let y = 0; y < k.length; y++) ss += horiz[((y + ymin) * outW + xx) * 3 + c] * k[y];
          out[(yy * outW + xx) * 3 + c] = clip8(ss);
        }
      }
    }
    return out;
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
