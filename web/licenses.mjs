// Print the licence text of every npm package whose files esbuild put in the bundle
// (from esbuild's metafile), for prover/serve/static/vendor/codemirror.LICENSES.txt.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const meta = JSON.parse(readFileSync(process.argv[2], "utf8"));
const pkgs = new Set();
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) pkgs.add(m[1]);
}
const out = ["Licences of the npm packages bundled in codemirror.js (built by web/build.sh from",
             "web/package-lock.json). Each section: package@version, its declared licence, then",
             "its licence file.", ""];
for (const name of [...pkgs].sort()) {
  const dir = join("node_modules", name);
  const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  out.push("=".repeat(78), `${name}@${pj.version} (${pj.license})`, "=".repeat(78));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (file && existsSync(join(dir, file))) out.push(readFileSync(join(dir, file), "utf8").trim());
  else out.push(`(no licence file in the package; package.json declares ${pj.license})`);
  out.push("");
}
process.stdout.write(out.join("\n"));
