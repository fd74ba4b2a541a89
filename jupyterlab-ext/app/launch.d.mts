export declare const repoRoot: string;
export declare const PYTHON: string;
export declare function freePort(): Promise<number>;
export declare function checkPrerequisites(): string[];
export declare function engineCanServe(): boolean;
export declare function prepareKernelspec(runtimeDir: string): Promise<string | undefined>;
export interface LaunchOptions {
  rootDir: string;
  port?: number;
  token?: string;
  serve?: boolean;
  /** Proxy to this existing pipebook server instead of starting `pipebook serve`. */
  api?: { url: string; token: string };
  runtimeDir?: string;
  env?: Record<string, string>;
  jupyterPath?: string;
  log?: (line: string) => void;
}
export interface LaunchedWorkbench {
  url: string;
  baseUrl: string;
  token: string;
  apiUrl?: string;
  stop(): Promise<void>;
}
export declare function launchWorkbench(options: LaunchOptions): Promise<LaunchedWorkbench>;
