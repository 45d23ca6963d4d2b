// Where onnxruntime-web finds its .wasm files, read from this script tag's data-path
// (an inline <script> setting it would be blocked by the Content-Security-Policy).
window.RIIM_ORT_WASM_PATH = document.currentScript.dataset.path;
