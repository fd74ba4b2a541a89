/** Where the bundled studio page is written (served by `pipebook serve` under /web/). */
export declare const PAGE_BUNDLE: string;
/** Bundles src/server/web/app.ts with the shared contract into PAGE_BUNDLE. */
export declare function buildPage(): Promise<void>;
