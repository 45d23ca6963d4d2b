{% load static %}// RIIM's Scratch 3 extension: the class's own image model in Scratch blocks, classifying in the browser.
// Served by RIIM at /scratch/riim.js. RIIM's editor (/scratch/) registers it in the page, where it can
// reach the camera, the stage and the costumes; editors that load unsandboxed extensions by URL
// (TurboWarp and its kind) register it through Scratch.extensions.register.
(function () {
  "use strict";
  // Block texts in each language of the site (its translation catalogues; Scratch's own locale picks one),
  // and where ONNX Runtime Web and the server's resize live on this server.
  const CONFIG = {{ config|safe }};
{% verbatim %}
  const MESSAGES = CONFIG.messages;
  const DEFAULT_LANGUAGE = CONFIG.defaultLanguage;
  const RUNTIME_FILES = CONFIG.runtimeFiles;
  const EXTENSION_ID = "riim";
  const VIDEO_SIZE = [480, 360]; // Scratch's stage and video frame size
  const FPS_WINDOW_MS = 2000; // classifications per second are counted over the last two seconds
  const CAMERA_INTERVAL_MS = 1000 / 30; // Scratch draws 30 frames a second: classifying more often is wasted work
  const RETRAIN_POLL_MS = 3000; // how often a retrain's progress is asked for
  const RETRAIN_LIMIT_MS = 15 * 60 * 1000; // a quick run takes seconds to minutes; past this, stop waiting
  const KEY_STORAGE = "riim.scratchKey:"; // + the RIIM server's origin: the key lives in this browser only
  const ICON = "data:image/svg+xml;base64," + btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">' +
    '<rect width="40" height="40" rx="8" fill="#0a58ca"/><circle cx="20" cy="20" r="9" fill="none" stroke="#fff" stroke-width="3"/>' +
    '<circle cx="20" cy="20" r="3.5" fill="#fff"/><path d="M5 20 Q20 4 35 20 Q20 36 5 20" fill="none" stroke="#fff" stroke-width="2.5"/></svg>');

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = resolve;
      script.onerror = () => reject(new Error("cannot load " + url));
      document.head.appendChild(script);
    });
  }

  // ONNX Runtime Web (WebAssembly) runs the class's model; RIIM's editor page loads it, other editors get it here.
  let runtimeReady = null;
  function ensureRuntime() {
    if (!runtimeReady) {
      runtimeReady = (async () => {
        if (!window.ort) await loadScript(RUNTIME_FILES.ort);
        if (!window.riimPreprocess) await loadScript(RUNTIME_FILES.preprocess);
        window.ort.env.wasm.wasmPaths = RUNTIME_FILES.wasm;
        window.ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one thread works everywhere
      })();
    }
    return runtimeReady;
  }

  function imageDataOf(source, width, height) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    return context.getImageData(0, 0, width, height);
  }

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => reject(new Error("image"));
      image.src = url;
    });
  }

  class RiimExtension {
    constructor(runtime, vm) {
      this.runtime = runtime;
      this.vm = vm || null;
      this.link = "";
      this.timeStamp = null;
      this.session = null;
      this.labels = [];
      this.size = 0;
      this.probabilities = [];
      this.threshold = 0; // percent: below it the label is empty
      this.state = "none"; // none | loading | ready | training | error
      this.error = "";
      this.video = "off";
      this.busy = null;
      this.times = [];
      this.loopRunning = false;
      if (runtime && runtime.on) runtime.on("PROJECT_STOP_ALL", () => { this.probabilities = []; });
    }

    // --- texts --------------------------------------------------------------------------------

    language() {
      const locale = String((this.vm && this.vm.getLocale && this.vm.getLocale()) ||
        (window.Scratch && window.Scratch.translate && window.Scratch.translate.language) || DEFAULT_LANGUAGE).toLowerCase();
      if (MESSAGES[locale]) return locale;
      const base = locale.split(/[-_]/)[0];
      return MESSAGES[base] ? base : DEFAULT_LANGUAGE;
    }

    t(key) { return MESSAGES[this.language()][key]; }

    getInfo() {
      const t = (key) => this.t(key);
      const label = { type: "string", menu: "labels", defaultValue: this.labels[0] || "" };
      return {
        id: EXTENSION_ID,
        name: t("extension_name"),
        color1: "#0a58ca",
        color2: "#084298",
        color3: "#052c65",
        blockIconURI: ICON,
        menuIconURI: ICON,
        blocks: [
          { opcode: "useModel", blockType: "command", text: t("use_model"),
            arguments: { URL: { type: "string", defaultValue: this.link || window.RIIM_SCRATCH_MODEL_LINK || "https://" } } },
          { opcode: "classify", blockType: "command", text: t("classify"),
            arguments: { SOURCE: { type: "string", menu: "sources", defaultValue: "camera" } } },
          { opcode: "label", blockType: "reporter", text: t("label") },
          { opcode: "confidence", blockType: "reporter", text: t("confidence"), arguments: { LABEL: label } },
          { opcode: "isLabel", blockType: "Boolean", text: t("is_label"), arguments: { LABEL: label } },
          { opcode: "whenLabel", blockType: "hat", text: t("when_label"), isEdgeActivated: true, arguments: { LABEL: label } },
          "---",
          { opcode: "setThreshold", blockType: "command", text: t("threshold"),
            arguments: { N: { type: "number", defaultValue: 60 } } },
          { opcode: "setVideo", blockType: "command", text: t("video"),
            arguments: { STATE: { type: "string", menu: "video", defaultValue: "on" } } },
          { opcode: "addExample", blockType: "command", text: t("add_example"),
            arguments: { SOURCE: { type: "string", menu: "exampleSources", defaultValue: "camera" }, LABEL: label } },
          { opcode: "retrain", blockType: "command", text: t("retrain") },
          { opcode: "modelIs", blockType: "Boolean", text: t("model_is"),
            arguments: { STATE: { type: "string", menu: "states", defaultValue: "ready" } } },
          { opcode: "rate", blockType: "reporter", text: t("rate") },
        ],
        menus: {
          sources: { acceptReporters: false, items: [
            { text: t("camera"), value: "camera" }, { text: t("stage"), value: "stage" }, { text: t("costume"), value: "costume" }] },
          exampleSources: { acceptReporters: false, items: [
            { text: t("camera"), value: "camera" }, { text: t("stage"), value: "stage" }] },
          video: { acceptReporters: false, items: [
            { text: t("off"), value: "off" }, { text: t("on"), value: "on" }, { text: t("mirror"), value: "mirror" }] },
          states: { acceptReporters: false, items: [
            { text: t("ready"), value: "ready" }, { text: t("training"), value: "training" }, { text: t("error"), value: "error" }] },
          labels: { acceptReporters: true, items: "labelItems" },
        },
      };
    }

    labelItems() { return this.labels.length ? this.labels.slice() : [" "]; }

    // --- the model ----------------------------------------------------------------------------

    say(util, text) {
      if (util && util.target && this.runtime) this.runtime.emit("SAY", util.target, "say", text);
    }

    fail(util, message) {
      this.state = "error";
      this.error = message;
      this.say(util, message);
    }

    async fetchJson(url) {
      const response = await fetch(url, { credentials: "omit", cache: "no-cache" });
      let body = null;
      try { body = await response.json(); } catch (error) { body = null; }
      if (!response.ok) throw new Error((body && body.detail) || this.t("link_failed"));
      return body;
    }

    // Load (or reload, when the teacher activated another version since) the model behind a public link.
    async useModel(args, util) {
      let link = String(args.URL || "").trim();
      if (!/^https?:\/\//.test(link)) { this.fail(util, this.t("not_a_link")); return; }
      if (!link.endsWith("/")) link += "/";
      try {
        const metadata = await this.fetchJson(link + "metadata.json");
        if (this.session && link === this.link && metadata.timeStamp === this.timeStamp) return;
        this.state = "loading";
        await ensureRuntime();
        const model = await fetch(link + "model.onnx", { credentials: "omit" });
        if (!model.ok) {
          let detail = null;
          try { detail = (await model.json()).detail; } catch (error) { detail = null; }
          throw new Error(detail || this.t("link_failed"));
        }
        const bytes = new Uint8Array(await model.arrayBuffer());
        this.session = await window.ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
        this.link = link;
        this.labels = metadata.labels.map(String);
        this.size = Number(metadata.imageSize);
        this.timeStamp = metadata.timeStamp;
        this.probabilities = [];
        this.state = "ready";
        this.error = "";
        if (this.vm && this.vm.extensionManager) this.vm.extensionManager.refreshBlocks(); // the label menus
        this.startCameraLoop();
      } catch (error) {
        this.fail(util, error.message);
      }
    }

    // --- pixels -------------------------------------------------------------------------------

    cameraPixels() {
      const video = this.runtime.ioDevices && this.runtime.ioDevices.video;
      const frame = video && video.getFrame({ format: "image-data", dimensions: VIDEO_SIZE });
      return frame || null;
    }

    stagePixels() {
      return new Promise((resolve) => {
        this.runtime.renderer.requestSnapshot((url) => loadImage(url).then(
          (image) => resolve(imageDataOf(image, image.naturalWidth, image.naturalHeight)), () => resolve(null)));
      });
    }

    // The running sprite's current costume (the backdrop for the stage), decoded as the server decodes a photo.
    async costumePixels(util) {
      const target = util && util.target;
      const costume = target && target.getCostumes()[target.currentCostume];
      if (!costume || !costume.asset) return null;
      const type = costume.asset.assetType.contentType;
      const blob = new Blob([costume.asset.data], { type });
      if (type !== "image/svg+xml") return { tensor: await window.riimPreprocess.blobToTensorData(blob, this.size) };
      const url = URL.createObjectURL(blob);
      try {
        const image = await loadImage(url);
        return imageDataOf(image, image.naturalWidth || VIDEO_SIZE[0], image.naturalHeight || VIDEO_SIZE[1]);
      } finally {
        URL.revokeObjectURL(url);
      }
    }

    toInput(pixels) {
      const data = pixels.tensor || Float32Array.from(
        window.riimPreprocess.resizeBilinear(pixels.data, pixels.width, pixels.height, this.size, this.size));
      return new window.ort.Tensor("float32", data, [1, this.size, this.size, 3]);
    }

    async run(pixels) {
      const feeds = { [this.session.inputNames[0]]: this.toInput(pixels) };
      const output = await this.session.run(feeds, ["probabilities"]);
      this.probabilities = Array.from(output.probabilities.data);
      const now = performance.now();
      this.times.push(now);
      while (this.times.length && now - this.times[0] > FPS_WINDOW_MS) this.times.shift();
      return this.probabilities;
    }

    // One classification at a time: a block that asks while one runs waits for it and then runs its own.
    async classifyFrom(source, util) {
      if (!this.session) { this.say(util, this.t("no_model")); return; }
      while (this.busy) await this.busy;
      let release;
      this.busy = new Promise((resolve) => { release = resolve; });
      try {
        let pixels = null;
        if (source === "camera") pixels = this.cameraPixels();
        else if (source === "stage") pixels = await this.stagePixels();
        else pixels = await this.costumePixels(util);
        if (pixels) await this.run(pixels);
        else if (source === "camera") this.say(util, this.t("no_camera"));
      } finally {
        this.busy = null;
        release();
      }
    }

    // While the video is on, the camera is classified continuously, so «when the label is» reacts by itself.
    startCameraLoop() {
      if (this.loopRunning || this.video === "off" || !this.session) return;
      this.loopRunning = true;
      const step = async () => {
        if (this.video === "off" || !this.session) { this.loopRunning = false; return; }
        const started = performance.now();
        try { await this.classifyFrom("camera", null); } catch (error) { this.error = error.message; }
        setTimeout(step, Math.max(0, CAMERA_INTERVAL_MS - (performance.now() - started)));
      };
      step();
    }

    // --- the class's API, with the student's Scratch key -------------------------------------

    // The key is asked for once and kept in this browser (localStorage), never in the project: a saved
    // .sb3 carries no key.
    keyName() { return KEY_STORAGE + new URL(this.link).origin; }

    storedKey() {
      try { return window.localStorage.getItem(this.keyName()); } catch (error) { return null; }
    }

    askKey() {
      const typed = (window.prompt(this.t("key_prompt")) || "").trim();
      if (typed) {
        try { window.localStorage.setItem(this.keyName(), typed); } catch (error) { /* private mode: ask again next time */ }
      }
      return typed;
    }

    forgetKey() {
      try { window.localStorage.removeItem(this.keyName()); } catch (error) { /* nothing kept */ }
    }

    async api(path, options) {
      const key = this.storedKey() || this.askKey();
      if (!key) throw new Error(this.t("no_key"));
      const response = await fetch(new URL(this.link).origin + path, {
        ...options, credentials: "omit", headers: { Authorization: "Bearer " + key } });
      let body = null;
      try { body = await response.json(); } catch (error) { body = null; }
      if (response.status === 401) this.forgetKey(); // withdrawn, expired or mistyped: ask again next time
      if (!response.ok) throw new Error((body && body.detail) || this.t("link_failed"));
      return body;
    }

    async pictureBlob(source) {
      let pixels = source === "stage" ? await this.stagePixels() : this.cameraPixels();
      if (!pixels) throw new Error(this.t("no_camera"));
      const canvas = document.createElement("canvas");
      canvas.width = pixels.width;
      canvas.height = pixels.height;
      canvas.getContext("2d").putImageData(pixels, 0, 0);
      return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    }

    async addExample(args, util) {
      if (!this.link) { this.say(util, this.t("no_model")); return; }
      try {
        const form = new FormData();
        form.append("file", await this.pictureBlob(String(args.SOURCE)), "scratch.png");
        form.append("label", String(args.LABEL));
        await this.api("/api/v1/scratch/examples/", { method: "POST", body: form });
        this.say(util, this.t("example_added"));
      } catch (error) {
        this.say(util, error.message);
      }
    }

    // Ask for a quick retrain, wait for it, then load the new version if the class activated it.
    async retrain(args, util) {
      if (!this.link) { this.say(util, this.t("no_model")); return; }
      const before = this.state;
      try {
        await this.api("/api/v1/scratch/retrain/", { method: "POST" });
        this.state = "training";
        const started = Date.now();
        let run = null;
        do {
          await new Promise((resolve) => setTimeout(resolve, RETRAIN_POLL_MS));
          run = await this.api("/api/v1/scratch/retrain/", { method: "GET" });
        } while (["queued", "running"].includes(run.status) && Date.now() - started < RETRAIN_LIMIT_MS);
        if (run.status !== "succeeded") { this.fail(util, this.t("retrain_failed")); return; }
        this.state = before;
        await this.useModel({ URL: this.link }, util); // loads the new version if it was activated
      } catch (error) {
        if (this.state === "training") this.state = before;
        this.say(util, error.message);
      }
    }

    // --- blocks -------------------------------------------------------------------------------

    classify(args, util) { return this.classifyFrom(String(args.SOURCE), util); }

    best() {
      let index = -1;
      this.probabilities.forEach((p, i) => { if (index < 0 || p > this.probabilities[index]) index = i; });
      return index;
    }

    label() {
      const index = this.best();
      if (index < 0 || 100 * this.probabilities[index] < this.threshold) return "";
      return this.labels[index];
    }

    confidence(args) {
      const index = this.labels.indexOf(String(args.LABEL));
      return index < 0 || !this.probabilities.length ? 0 : Math.round(1000 * this.probabilities[index]) / 10;
    }

    isLabel(args) { return this.label() !== "" && this.label() === String(args.LABEL); }

    whenLabel(args) { return this.isLabel(args); }

    setThreshold(args) {
      const value = Number(args.N);
      this.threshold = Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
    }

    setVideo(args) {
      const video = this.runtime.ioDevices && this.runtime.ioDevices.video;
      this.video = ["on", "mirror"].includes(String(args.STATE)) ? String(args.STATE) : "off";
      if (!video) return;
      if (this.video === "off") { video.disableVideo(); return; }
      video.mirror = this.video === "mirror";
      return Promise.resolve(video.enableVideo()).then(() => this.startCameraLoop());
    }

    modelIs(args) {
      const wanted = String(args.STATE);
      if (wanted === "ready") return this.state === "ready";
      if (wanted === "training") return this.state === "training";
      return this.state === "error";
    }

    rate() { return this.times.length < 2 ? 0 : Math.round(10 * 1000 * (this.times.length - 1) / (this.times[this.times.length - 1] - this.times[0])) / 10; }
  }

  RiimExtension.EXTENSION_ID = EXTENSION_ID;
  window.RiimScratchExtension = RiimExtension;
  // Editors that load unsandboxed extensions by URL (TurboWarp): register at once.
  if (window.Scratch && window.Scratch.extensions && window.Scratch.extensions.register && window.Scratch.extensions.unsandboxed) {
    window.Scratch.extensions.register(new RiimExtension(window.Scratch.vm.runtime, window.Scratch.vm));
  }
})();
{% endverbatim %}
