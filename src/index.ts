import { createApp } from "./app.ts";
import type { OutpostEnv } from "./env.ts";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<OutpostEnv>;
