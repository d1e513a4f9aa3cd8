// The process cluster suite (processes/process-suite.ts) on real Redis (REDIS_URL, default
// redis://127.0.0.1:6379; the engine-restart tests run a redis-server of their own).
import { processClusterSuite } from "./processes/process-suite.js";

processClusterSuite("redis");
