/** One SVG per trace: instances in the group (top) and pending pods (bottom) over time, one step line per policy. */
import type { TimelinePoint } from "./engine";

export interface ChartSeries {
  readonly label: string;
  readonly points: TimelinePoint[];
}

const COLOURS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd"];
const WIDTH = 760;
const PANEL = 170;
const LEFT = 50;
const RIGHT = 20;
const TOP = 60;
const GAP = 50;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A step line: each value holds until the next point, the last until the end. */
function stepPath(points: TimelinePoint[], value: (point: TimelinePoint) => number, x: (minute: number) => number, y: (v: number) => number, endMinute: number): string {
  const parts: string[] = [];
  points.forEach((point, index) => {
    const nextMinute = points[index + 1]?.minute ?? endMinute;
    parts.push(`${index === 0 ? "M" : "L"}${x(point.minute).toFixed(1)},${y(value(point)).toFixed(1)}`, `L${x(nextMinute).toFixed(1)},${y(value(point)).toFixed(1)}`);
  });
  return parts.join(" ");
}

export function chartSvg(title: string, durationMinutes: number, series: ChartSeries[]): string {
  const height = TOP + 2 * PANEL + GAP + 40;
  const x = (minute: number) => LEFT + ((WIDTH - LEFT - RIGHT) * minute) / durationMinutes;
  const panels = [
    { name: "nodes", label: "instances in the group", value: (p: TimelinePoint) => p.nodes, top: TOP },
    { name: "pending", label: "pending pods", value: (p: TimelinePoint) => p.pending, top: TOP + PANEL + GAP },
  ];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escape(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  series.forEach((s, index) => {
    out.push(`<rect x="${LEFT + index * 230}" y="24" width="12" height="4" fill="${COLOURS[index % COLOURS.length]}"/>`, `<text x="${LEFT + 16 + index * 230}" y="30">${escape(s.label)}</text>`);
  });
  for (const panel of panels) {
    const max = Math.max(1, ...series.flatMap((s) => s.points.map(panel.value)));
    const y = (v: number) => panel.top + PANEL - (PANEL * v) / max;
    out.push(`<g class="panel" data-series="${panel.name}">`);
    out.push(`<text x="${LEFT}" y="${panel.top - 6}" font-weight="bold">${escape(panel.label)}</text>`);
    out.push(`<line x1="${LEFT}" y1="${panel.top + PANEL}" x2="${WIDTH - RIGHT}" y2="${panel.top + PANEL}" stroke="#444"/>`, `<line x1="${LEFT}" y1="${panel.top}" x2="${LEFT}" y2="${panel.top + PANEL}" stroke="#444"/>`);
    for (const tick of [0, Math.round(max / 2), max]) out.push(`<text x="${LEFT - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`);
    const step = durationMinutes > 360 ? 120 : 30;
    for (let minute = 0; minute <= durationMinutes; minute += step) out.push(`<text x="${x(minute)}" y="${panel.top + PANEL + 14}" text-anchor="middle">${minute}</text>`);
    series.forEach((s, index) => {
      out.push(`<path class="line" data-policy="${escape(s.label)}" fill="none" stroke="${COLOURS[index % COLOURS.length]}" stroke-width="1.5" d="${stepPath(s.points, panel.value, x, y, durationMinutes)}"/>`);
    });
    out.push(`</g>`);
  }
  out.push(`<text x="${WIDTH / 2}" y="${height - 6}" text-anchor="middle">minutes</text>`, `</svg>`);
  return out.join("\n") + "\n";
}
