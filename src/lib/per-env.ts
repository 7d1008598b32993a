// A value derived from the Worker's env object, made once per object. Outpost keeps its parsed
// configuration (config/load-config.ts) and its cache store per env object, so an env rebuilt on
// every request would parse and open them again each time: whoever derives an env from the one the
// runtime passes (an origin shield, a drill's or the simulator's wrapper) derives it through this.
export function onePerEnv<Env extends object, Derived>(derive: (env: Env) => Derived): (env: Env) => Derived {
  const derived = new WeakMap<Env, Derived>();
  return (env) => {
    let value = derived.get(env);
    if (value === undefined) derived.set(env, (value = derive(env)));
    return value;
  };
}
