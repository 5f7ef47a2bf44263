import { mkdtempSync, readdirSync, readFileSync, statSync } from "fs";
import { tmpdir } from "os";
import { join, relative } from "path";
import { resolveConfig } from "../config/resolve";
import { buildApp } from "../main";

function filesUnder(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return files;
}

test("two synths of the same config are byte-identical", () => {
  const config = resolveConfig({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } });
  const [first, second] = [0, 1].map(() => {
    const outdir = mkdtempSync(join(tmpdir(), "k3s-synth-"));
    buildApp(config, undefined, outdir).synth();
    return filesUnder(outdir);
  });
  expect(Object.keys(first).sort()).toEqual(Object.keys(second).sort());
  expect(Object.keys(first)).toContain(join("stacks", "cluster", "cdk.tf.json"));
  for (const name of Object.keys(first)) expect(second[name].equals(first[name])).toBe(true);
});
