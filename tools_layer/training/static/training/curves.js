// Training curves drawn as SVG: one chart per metric, one line per run, redrawn as points arrive.
const curves = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4b5bdc", "#d64545", "#1f9d55", "#c98a0b", "#8e44ad", "#16a0b5", "#6b7385", "#e67e22"];
  const W = 520, H = 220, PAD = {left: 52, right: 12, top: 12, bottom: 28};

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const fmt = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : +v.toPrecision(3));

  // series: [{label, points: [[step, value], …]}]; returns an <svg> with axes, ticks and a legend.
  function chart(title, series) {
    const all = series.flatMap((s) => s.points);
    const root = svg("svg", {viewBox: `0 0 ${W} ${H}`, class: "curve", role: "img", "aria-label": title, "data-metric": title});
    root.append(svg("text", {x: PAD.left, y: 10, "font-size": 11, fill: "#6b7385"}, title));
    if (!all.length) return root;
    let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
    let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
    if (x0 === x1) x1 = x0 + 1;
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
    const sy = (y) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
    root.append(svg("line", {x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, stroke: "#ccd"}));
    root.append(svg("line", {x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, stroke: "#ccd"}));
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4, x = x0 + ((x1 - x0) * i) / 4;
      root.append(svg("text", {x: PAD.left - 4, y: sy(y) + 3, "font-size": 9, "text-anchor": "end", fill: "#6b7385"}, fmt(y)));
      root.append(svg("text", {x: sx(x), y: H - PAD.bottom + 12, "font-size": 9, "text-anchor": "middle", fill: "#6b7385"}, Math.round(x)));
    }
    series.forEach((s, index) => {
      const color = COLORS[index % COLORS.length];
      const points = [...s.points].sort((a, b) => a[0] - b[0]);
      if (points.length) {
        root.append(svg("polyline", {points: points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" "),
          fill: "none", stroke: color, "stroke-width": 1.8, "data-series": s.label, "data-points": points.length}));
      }
      root.append(svg("text", {x: W - PAD.right, y: PAD.top + 10 + index * 12, "font-size": 10, "text-anchor": "end", fill: color}, s.label));
    });
    return root;
  }

  // runs: [{label, metrics: [{step, values}]}]; draws one chart per metric name into `container`.
  function draw(container, runs, names) {
    const wanted = names || [...new Set(runs.flatMap((r) => r.metrics.flatMap((m) => Object.keys(m.values))))]
      .filter((name) => name !== "attempt");
    container.replaceChildren(...wanted.map((name) => chart(name, runs.map((run) => ({
      label: run.label, points: run.metrics.filter((m) => typeof m.values[name] === "number").map((m) => [m.step, m.values[name]]),
    })))));
  }

  return {chart, draw};
})();
