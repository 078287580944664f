// National progress in a fiscal year: groups per stage, prototypes per province, and the
// programme's targets beside the actual counts.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get } from "../api.js";
import { BarChart } from "../charts.js";
import { Loading, Table, useData } from "../data.js";
import { count, currentFiscalYear, day, percent } from "../format.js";
import { STAGES, useT } from "../i18n.js";

export function FiscalYearPicker({ value, onChange }) {
  const t = useT();
  const now = currentFiscalYear();
  return html`<label class="field">
    <span>${t("fiscalYear")}</span>
    <select id="fiscal-year" value=${value} onChange=${(e) => onChange(Number(e.target.value))}>
      ${[now + 1, now, now - 1, now - 2].map((y) => html`<option value=${y}>${y}</option>`)}
    </select>
  </label>`;
}

async function optional(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export function National() {
  const t = useT();
  const [year, setYear] = useState(currentFiscalYear());
  const state = useData(
    async () => {
      const [stages, programme] = await Promise.all([
        get("/v1/stats/groups-by-stage", { fiscal_year: year }),
        optional(get("/v1/stats/programme", { fiscal_year: year })),
      ]);
      return { stages, programme };
    },
    [year],
    (e) => e.type.startsWith("group.") || e.type.startsWith("session.") || e.type.startsWith("loan."),
  );
  return html`<section aria-labelledby="view-title">
    <div class="view-head">
      <h1 id="view-title" tabindex="-1">${t("national")}</h1>
      <${FiscalYearPicker} value=${year} onChange=${setYear} />
    </div>
    <${Loading} state=${state}>
      ${({ stages, programme }) => {
        const totals = Object.fromEntries(stages.totals.map((r) => [r.stage, r.groups]));
        const prototypes = stages.rows
          .filter((r) => r.stage === "prototype")
          .sort((a, b) => b.groups - a.groups || a.province_code.localeCompare(b.province_code));
        return html`
          ${programme && html`<${Targets} programme=${programme} />`}
          <div class="panel">
            <h2>${t("groupsPerStage")}</h2>
            <${BarChart}
              labels=${STAGES.map((s) => t.code("stage", s))}
              series=${[{ label: t("groups"), data: STAGES.map((s) => totals[s] ?? 0) }]}
            />
            <${Table}
              id="stage-totals"
              caption=${t("groupsPerStage")}
              head=${[t("stage"), t("groups")]}
              numeric=${[1]}
              rows=${STAGES.map((s) => [t.code("stage", s), count(totals[s] ?? 0, t.lang)])}
            />
          </div>
          <div class="panel">
            <h2>${t("prototypesPerProvince")}</h2>
            <${Table}
              id="prototypes-by-province"
              caption=${t("prototypesPerProvince")}
              head=${[t("province"), t("prototypes")]}
              numeric=${[1]}
              rows=${prototypes.map((r) => [
                html`<a href="#/province/${r.province_code}">${t.named({
                  name_th: r.province_name_th,
                  name_en: r.province_name_en,
                })}</a>`,
                count(r.groups, t.lang),
              ])}
              foot=${[t("total"), count(totals.prototype ?? 0, t.lang)]}
            />
          </div>
        `;
      }}
    <//>
  </section>`;
}

const TARGETS = ["prototype_groups", "full_cycle_groups", "finish_by_groups"];

function Targets({ programme }) {
  const t = useT();
  const { targets, actuals } = programme;
  const label = (key) =>
    key === "finish_by_groups"
      ? `${t("finish_by_groups")} ${day(targets?.finish_by ?? actuals.finish_by, t.lang)}`
      : t(key);
  return html`<div class="panel">
    <h2>${t("targets")}</h2>
    <${BarChart}
      horizontal
      labels=${TARGETS.map(label)}
      series=${[
        { label: t("target"), data: TARGETS.map((k) => targets?.[k] ?? 0) },
        { label: t("actual"), data: TARGETS.map((k) => actuals[k]) },
      ]}
    />
    <${Table}
      id="targets"
      caption=${t("targets")}
      head=${[t("indicator"), t("target"), t("actual"), t("percent")]}
      numeric=${[1, 2, 3]}
      rows=${TARGETS.map((k) => [
        label(k),
        targets ? count(targets[k], t.lang) : "–",
        count(actuals[k], t.lang),
        targets ? percent(actuals[k], targets[k], t.lang) : "–",
      ])}
    />
  </div>`;
}
