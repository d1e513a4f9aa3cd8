// The CPU a load-generator process spends on its clients in each phase, read inside it
// (process.cpuUsage, user + system) at the edges it sees: the fixed-rate window runs from its
// first measured delivery (phase 1) to its first max-rate delivery (phase 2), the max-rate window
// from there to its last delivery. The reading at the end is taken once per `clients`
// max-rate deliveries (one round's worth), not per delivery: a reading costs a system call.
let clients = 0;
let phase = -1;
let fixedStart = null;
let maxStart = null;
let maxLast = null;
let maxCount = 0;

/** Called for every client opened (all are open before the first broadcast). */
export function addClient() {
  clients++;
}

/** Every delivery of phase `p` (0 warm-up, 1 fixed, 2 max), before it is counted. */
export function noteDelivery(p) {
  if (p !== phase) {
    if (p === 1 && fixedStart === null) fixedStart = process.cpuUsage();
    else if (p === 2 && maxStart === null) maxStart = process.cpuUsage();
    phase = p;
  }
  if (p === 2 && ++maxCount % clients === 0) maxLast = process.cpuUsage();
}

const micros = (u) => u.user + u.system;

/** CPU µs of each window (0 when a window was not seen), for the load generator's report. */
export function clientCpu() {
  return {
    cpuFixedMicros: fixedStart === null || maxStart === null ? 0 : micros(maxStart) - micros(fixedStart),
    cpuMaxMicros: maxStart === null || maxLast === null ? 0 : micros(maxLast) - micros(maxStart),
    maxDeliveriesTimed: maxCount - (maxCount % Math.max(1, clients)),
  };
}
