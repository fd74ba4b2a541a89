export { runKernel } from "./main.js";
export { installKernelSpec, type InstallOptions } from "./install.js";
export { Kernel, type KernelOptions } from "./kernel/Kernel.js";
export { MIME_BUNDLE, type HasMimeBundle } from "./display/mimeBundle.js";
