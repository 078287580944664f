// A tile map of the 77 provinces: one square each, placed on a grid from the provinces'
// coordinates, coloured by the chosen indicator; a tile opens the province.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get, getAll } from "../api.js";
import { Loading, useData } from "../data.js";
import { bps, count, currentFiscalYear, thb } from "../format.js";
import { useT } from "../i18n.js";
import { FiscalYearPicker } from "./national.js";

const COLUMNS = 12;
const ROWS = 20;

/** Grid cells from latitude/longitude: each province takes the free cell nearest its place. */
export function tileLayout(provinces) {
  const placed = provinces.filter((p) => p.latitude != null && p.longitude != null);
  if (placed.length < provinces.length) {
    // Without coordinates, a plain grid in code order (the API ships them; this is a fallback).
    return new Map(provinces.map((p, i) => [p.code, { col: i % 10, row: Math.floor(i / 10) }]));
  }
  const lats = placed.map((p) => p.latitude);
  const lons = placed.map((p) => p.longitude);
  const [minLat, maxLat, minLon, maxLon] = [
    Math.min(...lats),
    Math.max(...lats),
    Math.min(...lons),
    Math.max(...lons),
  ];
  const ideal = (p) => ({
    col: ((p.longitude - minLon) / (maxLon - minLon || 1)) * (COLUMNS - 1),
    row: ((maxLat - p.latitude) / (maxLat - minLat || 1)) * (ROWS - 1),
  });
  const taken = new Set();
  const cells = new Map();
  // Crowded places first would push the centre outwards; the order by latitude keeps
  // north above south, so neighbours stay neighbours.
  const order = [...placed].sort((a, b) => b.latitude - a.latitude || a.longitude - b.longitude);
  for (const p of order) {
    const want = ideal(p);
    let best = null;
    for (let row = 0; row < ROWS; row += 1) {
      for (let col = 0; col < COLUMNS; col += 1) {
        if (taken.has(`${col},${row}`)) continue;
        const d = (col - want.col) ** 2 + (row - want.row) ** 2;
        if (best === null || d < best.d) best = { col, row, d };
      }
    }
    taken.add(`${best.col},${best.row}`);
    cells.set(p.code, { col: best.col, row: best.row });
  }
  return cells;
}

// Light to dark blue; the text on each tile switches to white where it needs to.
const SHADES = ["#eef4fb", "#c6dbef", "#9ecae1", "#2f6fa8", "#1d4e89"];

function shadeOf(value, max) {
  if (!max || !value) return 0;
  return Math.min(SHADES.length - 1, 1 + Math.floor((value / max) * (SHADES.length - 1.0001)));
}

const INDICATORS = {
  groups: {
    label: "allGroups",
    load: async (year) => {
      const stats = await get("/v1/stats/groups-by-stage", { fiscal_year: year });
      return sumBy(stats.rows, (r) => r.groups);
    },
    show: (v, lang) => count(v, lang),
  },
  prototypes: {
    label: "prototypes",
    load: async (year) => {
      const stats = await get("/v1/stats/groups-by-stage", { fiscal_year: year });
      return sumBy(
        stats.rows.filter((r) => r.stage === "prototype"),
        (r) => r.groups,
      );
    },
    show: (v, lang) => count(v, lang),
  },
  seats: {
    label: "seatsFilled",
    load: async (year) => {
      const stats = await get("/v1/stats/training", { fiscal_year: year });
      return new Map(stats.rows.map((r) => [r.province_code, r.confirmed]));
    },
    show: (v, lang) => count(v, lang),
  },
  par: {
    label: "parShare",
    load: async () => {
      const stats = await get("/v1/stats/loans");
      return new Map(stats.rows.map((r) => [r.province_code, r.par_bps]));
    },
    show: (v, lang) => bps(v, lang),
  },
  sales: {
    label: "salesTHB",
    load: async (year) => {
      const stats = await get("/v1/stats/market-sales", { fiscal_year: year });
      return sumBy(stats.rows, (r) => r.sales_satang);
    },
    show: (v, lang) => thb(v, lang),
  },
};

function sumBy(rows, value) {
  const sums = new Map();
  for (const r of rows) sums.set(r.province_code, (sums.get(r.province_code) ?? 0) + value(r));
  return sums;
}

export function TileMap() {
  const t = useT();
  const [year, setYear] = useState(currentFiscalYear());
  const [indicator, setIndicator] = useState("groups");
  const state = useData(
    async () => {
      const [provinces, values] = await Promise.all([
        getAll("/v1/provinces", {}),
        INDICATORS[indicator].load(year),
      ]);
      return { provinces, values };
    },
    [year, indicator],
    (e) => !e.type.startsWith("webhook."),
  );
  return html`<section aria-labelledby="view-title">
    <div class="view-head">
      <h1 id="view-title" tabindex="-1">${t("map")}</h1>
      <${FiscalYearPicker} value=${year} onChange=${setYear} />
      <label class="field">
        <span>${t("mapIndicator")}</span>
        <select id="map-indicator" value=${indicator} onChange=${(e) => setIndicator(e.target.value)}>
          ${Object.entries(INDICATORS).map(
            ([key, def]) => html`<option value=${key}>${t(def.label)}</option>`,
          )}
        </select>
      </label>
    </div>
    <p>${t("mapHelp")}</p>
    <${Loading} state=${state}>
      ${({ provinces, values }) => {
        const cells = tileLayout(provinces);
        const max = Math.max(0, ...values.values());
        const show = INDICATORS[indicator].show;
        return html`<nav class="tile-map" aria-label=${t("map")}>
            ${provinces.map((p) => {
              const cell = cells.get(p.code);
              const value = values.get(p.code) ?? 0;
              const shade = shadeOf(value, max);
              return html`<a
                class="tile shade-${shade}"
                href="#/province/${p.code}"
                data-province=${p.code}
                data-value=${value}
                style=${{ gridColumn: cell.col + 1, gridRow: cell.row + 1 }}
                title="${t.named(p)}: ${show(value, t.lang)}"
                aria-label="${t.named(p)}: ${show(value, t.lang)}"
              >
                <span class="tile-name">${t.named(p)}</span>
                <span class="tile-value">${show(value, t.lang)}</span>
              </a>`;
            })}
          </nav>
          <p class="legend" aria-hidden="true">
            ${t("legendLow")} ${SHADES.map((_, i) => html`<span class="swatch shade-${i}"></span>`)}
            ${t("legendHigh")}
          </p>`;
      }}
    <//>
  </section>`;
}
