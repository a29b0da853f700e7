// SVG charts drawn in the page (no library): a bar chart and a domain × region heat map.
const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

// bars: [{label, value, className?}] → <svg> with one <rect class="bar"> per bar.
export function barChart(bars, { width = 420, barHeight = 22, title = "" } = {}) {
  const labelWidth = 90;
  const height = Math.max(1, bars.length) * (barHeight + 6) + 8;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const svg = svgEl("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": title });
  svg.append(svgEl("title", {}, title));
  bars.forEach((bar, index) => {
    const y = 4 + index * (barHeight + 6);
    const length = ((width - labelWidth - 40) * bar.value) / max;
    svg.append(svgEl("text", { x: 0, y: y + barHeight * 0.7 }, bar.label));
    const rect = svgEl("rect", { class: `bar ${bar.className || ""}`.trim(), x: labelWidth, y,
      width: Math.max(1, length), height: barHeight, "data-label": bar.label,
      "data-value": bar.value });
    rect.append(svgEl("title", {}, `${bar.label}: ${bar.value}`));
    svg.append(rect);
    svg.append(svgEl("text", { x: labelWidth + length + 4, y: y + barHeight * 0.7 }, bar.value));
  });
  return svg;
}

function shade(value, max) {
  const t = max ? value / max : 0;
  const light = 96 - Math.round(t * 56);
  return `hsl(210, 70%, ${light}%)`;
}

// hotspots: the /api/v1/reports/hotspots answer → <svg> with one <rect class="cell"> per
// (domain, region) that has orders; spikes get the class "spike" and a red frame.
export function heatMap(hotspots, { cellWidth = 88, cellHeight = 34 } = {}) {
  const regions = hotspots.regions;
  const domains = hotspots.domains;
  const label = Object.fromEntries(hotspots.cells.map((cell) => [cell.domain, cell.domain_label]));
  const left = 96;
  const top = 64;
  const width = left + regions.length * cellWidth + 8;
  const height = top + domains.length * cellHeight + 8;
  const max = Math.max(1, ...hotspots.cells.map((cell) => cell.total));
  const svg = svgEl("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `热点：近${hotspots.days}天 领域×属地` });
  svg.append(svgEl("title", {}, `近${hotspots.days}天 领域 × 属地 工单数，红框为今日突增`));
  regions.forEach((region, column) => {
    const short = region === "unknown" ? "未定属地" : region.split("/").slice(-1)[0];
    svg.append(svgEl("text", { x: left + column * cellWidth + 4, y: top - 8,
      transform: `rotate(-20 ${left + column * cellWidth + 4} ${top - 8})` }, short));
  });
  domains.forEach((domain, row) => {
    svg.append(svgEl("text", { x: 0, y: top + row * cellHeight + cellHeight * 0.62 },
      label[domain] || domain));
  });
  for (const cell of hotspots.cells) {
    const x = left + regions.indexOf(cell.region) * cellWidth;
    const y = top + domains.indexOf(cell.domain) * cellHeight;
    const group = svgEl("g", {});
    const rect = svgEl("rect", {
      class: cell.spike ? "cell spike" : "cell", x, y, width: cellWidth - 2,
      height: cellHeight - 2, fill: shade(cell.total, max), "data-domain": cell.domain,
      "data-region": cell.region, "data-total": cell.total, "data-today": cell.today,
      "data-spike": String(cell.spike),
    });
    rect.append(svgEl("title", {}, `${cell.domain_label} · ${cell.region}：共 ${cell.total}，`
      + `今日 ${cell.today}（阈值 ${cell.threshold}）${cell.spike ? " 突增" : ""}`));
    group.append(rect);
    group.append(svgEl("text", { x: x + 6, y: y + cellHeight * 0.62 },
      `${cell.total}${cell.spike ? ` ↑${cell.today}` : ""}`));
    svg.append(group);
  }
  return svg;
}
