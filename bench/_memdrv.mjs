import { bundleWorker } from "../scripts/worker-bundle.mjs";
import { startWithPid } from "./lib/measure.mjs";
import { memoryMeasurements, runMemory } from "./lib/memory.mjs";
const script = bundleWorker("bench-build");
const startTracked = async (name, { script, env }) => {
  const w = await startWithPid(name, script, env, { handleStructuredLogs: () => {} });
  return { ...w, stop: () => w.mf.dispose() };
};
const results = await runMemory({ script, startTracked });
console.log(JSON.stringify(results.map(r=>({n:r.name,g:r.growthBytes/2**20,b:r.baselineBytes/2**20,p:r.peakBytes/2**20,a:r.answers,after:r.afterBytes/2**20}))));
console.log(JSON.stringify(results.map(({name, status, answers, problem}) => ({name, fill: status?.fill_budget, hot: status?.memory_tier, answers, problem}))));
