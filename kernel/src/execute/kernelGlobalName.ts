/** The global through which cell code reaches the kernel (imports). Hidden from completions. */
export const KERNEL_GLOBAL = "__pb";
