import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// config.json is not part of the build: the server next to index.html provides it (the local gateway, or
// the deploy step's upload), so one build serves every stack.
export default defineConfig({
  plugins: [vue()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
