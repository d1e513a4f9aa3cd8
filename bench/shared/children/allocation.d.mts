export function startAllocationSampling(): Promise<void>;
export function stopAllocationSampling(): Promise<number>;
