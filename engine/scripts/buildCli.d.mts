/** The CLI's grammar bundled with commander (dist/cli/main.bundle.js), which engine/bin/pipebook.js loads while current. */
export declare const CLI_BUNDLE: string;
/** What the bundle was built from: each input's size and mtime, relative to dist/cli/. */
export declare const CLI_BUNDLE_MANIFEST: string;
/** Bundles dist/cli's grammar modules and commander into CLI_BUNDLE and writes CLI_BUNDLE_MANIFEST. */
export declare function buildCli(): Promise<void>;
