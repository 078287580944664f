// Bar charts drawn by Chart.js (only the pieces used are bundled). Each chart is decorative
// beside its table: the table carries the figures for screen readers and keyboard users.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Colours with at least 3:1 contrast against white, told apart without hue as well.
export const PALETTE = ["#1d4e89", "#c2410c", "#0f766e", "#7c3aed", "#a16207", "#be123c"];

export function BarChart({ labels, series, horizontal = false, height = 260 }) {
  const canvas = useRef(null);
  useEffect(() => {
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: s.color || PALETTE[i % PALETTE.length],
        })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: series.length > 1 } },
        scales: { [horizontal ? "x" : "y"]: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    return () => chart.destroy();
  }, [JSON.stringify(labels), JSON.stringify(series), horizontal]);
  return html`<div class="chart" style=${{ height: `${height}px` }}>
    <canvas ref=${canvas} aria-hidden="true"></canvas>
  </div>`;
}
