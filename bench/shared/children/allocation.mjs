// What a benchmark child allocates while it works, for the allocation suite (bench/alloc):
// V8's sampling heap profiler, told to keep the samples of objects already collected, so that
// the sum of the samples estimates every byte allocated between start and stop, not only what
// is still alive. The profiler samples on average one allocation per SAMPLING_INTERVAL bytes,
// at random: over the megabytes of a measured window the sum repeated within about 1% in the
// suite's runs (its README gives each run's spread).
import { Session } from "node:inspector";

/** Average bytes between two samples; smaller is finer and slower. */
const SAMPLING_INTERVAL = 128;

let session = null;

function post(method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

export async function startAllocationSampling() {
  if (session !== null) throw new Error("allocation sampling is already on");
  session = new Session();
  session.connect();
  await post("HeapProfiler.startSampling", {
    samplingInterval: SAMPLING_INTERVAL,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
}

/** Stops sampling; the bytes allocated since the start, as sampled. */
export async function stopAllocationSampling() {
  if (session === null) throw new Error("allocation sampling is not on");
  const { profile } = await post("HeapProfiler.stopSampling");
  session.disconnect();
  session = null;
  let bytes = 0;
  for (const sample of profile.samples) bytes += sample.size;
  return bytes;
}
