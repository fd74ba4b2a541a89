export declare const buildDir: string;
export declare function isBuildCurrent(): boolean;
export declare function buildWorkbench(options?: { mode?: "development" | "production" }): Promise<number>;
export declare function ensureBuilt(options?: { mode?: "development" | "production"; staleMs?: number }): Promise<number>;
