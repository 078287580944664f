// Bundles the console into one script (no CDN: everything comes from node_modules) and
// copies the page beside it. Usage: node build.mjs OUTDIR [CLIENT_ID]
// CLIENT_ID is the app client the console signs in as (`otog-console` unless given).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
copyFileSync(join(here, "console.css"), join(out, "console.css"));
const clientId = process.argv[3] ?? "otog-console";
if (!/^[A-Za-z0-9._-]{1,100}$/.test(clientId)) throw new Error(`not a client id: ${clientId}`);
const page = readFileSync(join(here, "index.html"), "utf8");
writeFileSync(
  join(out, "index.html"),
  page.replace('content="otog-console"', `content="${clientId}"`),
);
