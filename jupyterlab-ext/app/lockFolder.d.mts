export declare function tryLockFolder(lock: string, staleMs: number): boolean;
export declare function unlockFolder(lock: string): void;
