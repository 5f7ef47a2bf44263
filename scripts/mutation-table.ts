/**
 * The README's mutation-testing tables, from Stryker's JSON reports (reports/mutation*, written by `npm run mutate`
 * and `npm run mutate:schema`): per mutated file, the mutants tried and what became of them. Score as Stryker
 * computes it: killed and timed out over killed, timed out, survived and uncovered; errors and ignored are left out.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";

interface Report {
  readonly files: Record<string, { readonly mutants: { readonly status: string }[] }>;
}

const REPORTS = ["mutation", "mutation-wiring", "mutation-schema"];

function row(name: string, statuses: string[]): string {
  const count = (status: string) => statuses.filter((candidate) => candidate === status).length;
  const detected = count("Killed") + count("Timeout");
  const scored = detected + count("Survived") + count("NoCoverage");
  const score = scored === 0 ? "n/a" : `${((100 * detected) / scored).toFixed(1)} %`;
  return `| ${name} | ${scored} | ${score} | ${count("Survived")} | ${count("NoCoverage")} | ${count("RuntimeError") + count("CompileError")} |`;
}

for (const name of REPORTS) {
  const path = join(__dirname, "..", "reports", name, "mutation.json");
  if (!existsSync(path)) {
    console.log(`${name}: no report (run npm run mutate, or mutate:schema)\n`);
    continue;
  }
  const report = JSON.parse(readFileSync(path, "utf8")) as Report;
  console.log(`reports/${name}/mutation.json\n`);
  console.log("| Module | Mutants | Score | Survived | Uncovered | Errors |\n| --- | --- | --- | --- | --- | --- |");
  const all: string[] = [];
  for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    const statuses = mutants.map((mutant) => mutant.status).filter((status) => status !== "Ignored");
    all.push(...statuses);
    console.log(row(`\`${file}\``, statuses));
  }
  console.log(`${row("**All**", all)}\n`);
}
