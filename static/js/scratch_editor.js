// The Scratch editor page: Scratch's standalone bundle (the GUI global) in the reader's language, with the
// RIIM extension registered in the page once the VM exists, so its blocks reach the camera, stage and costumes.
(function () {
  const config = JSON.parse(document.getElementById("scratch-config").textContent);
  const app = document.getElementById("scratch-app");
  window.RIIM_SCRATCH_MODEL_LINK = config.modelLink;

  // The VM's extension manager registers an object in the page with _registerInternalExtension (what Scratch
  // does for its own extensions). It is a private API of the pinned @scratch/scratch-gui version: a test
  // fails when an update changes it. Marking the id as loaded lets saved projects that use the blocks open.
  function registerRiim(vm) {
    const extension = new window.RiimScratchExtension(vm.runtime, vm);
    const manager = vm.extensionManager;
    const serviceName = manager._registerInternalExtension(extension);
    manager._loadedExtensions.set(window.RiimScratchExtension.EXTENSION_ID, serviceName);
    window.riimScratch = { vm, extension };
    if (config.modelLink) extension.useModel({ URL: config.modelLink }, null);
  }

  app.textContent = "";
  window.GUI.setAppElement(app);
  const state = new window.GUI.EditorState({ locale: config.locale });
  const root = window.GUI.createStandaloneRoot(state, app);
  // Project "0" is the default project (one sprite), built into the bundle: the editor opens offline.
  root.render({ basePath: config.basePath, projectId: "0", canSave: false, onVmInit: registerRiim });
})();
