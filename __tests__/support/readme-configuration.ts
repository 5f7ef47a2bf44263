import { readFileSync } from "fs";
import { join } from "path";

/** One setting of the README's Configuration table and the default it documents. */
export interface DocumentedDefault {
  readonly field: string;
  readonly text: string;
}

/** The rows of the README's Configuration table, one per setting named in them. */
export function configurationTable(): DocumentedDefault[] {
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Configuration"), readme.indexOf("\n## Deploying"));
  const rows = section.split("\n").filter((line) => line.startsWith("| `"));
  return rows.flatMap((row) => {
    const [fieldCell, defaultCell] = row.split(" | ").map((cell) => cell.replace(/^\| /, "").trim());
    const fields = [...fieldCell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    // "`agents.minSize` / `maxSize`": later names share the first one's parent.
    const parent = fields[0].includes(".") ? fields[0].slice(0, fields[0].lastIndexOf(".") + 1) : "";
    const names = fields.map((name, index) => (index === 0 ? name : parent + name));
    // "`1` / `10` / `2`" gives one default per name; otherwise the one text is the default of each.
    const perName = defaultCell.split(" / ");
    return names.map((field, index) => ({ field, text: perName.length === names.length ? perName[index] : defaultCell }));
  });
}
