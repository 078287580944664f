// Bundles the console into one script (no CDN: everything comes from node_modules) and
// copies the page beside it. Usage: node build.mjs OUTDIR
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "..", "build", "console", "app"));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: false,
  target: ["chrome100", "firefox100", "safari15"],
  outfile: join(out, "console.js"),
  legalComments: "linked",
  logLevel: "warning",
});
for (const name of ["index.html", "console.css"]) copyFileSync(join(here, name), join(out, name));
