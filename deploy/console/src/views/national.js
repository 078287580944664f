// National progress in a fiscal year: groups per stage, prototypes per province, and the
// programme's targets beside the actual counts.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get } from "../api.js";
import { BarChart } from "../charts.js";
import { Loading, Table, useData } from "../data.js";
import { count, currentFiscalYear, day, percent, thb } from "../format.js";
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

export function National() {
  const t = useT();
  const [year, setYear] = useState(currentFiscalYear());
  const state = useData(
    async () => {
      const [stages, programme, loans] = await Promise.all([
        get("/v1/stats/groups-by-stage", { fiscal_year: year }),
        get("/v1/stats/programme", { fiscal_year: year }),
        get("/v1/stats/loans"),
      ]);
      return { stages, programme, loans };
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
      ${({ stages, programme, loans }) => {
        const totals = Object.fromEntries(stages.totals.map((r) => [r.stage, r.groups]));
        const provinces = programme.provinces
          .filter((r) => r.prototype_groups || r.full_cycle_groups || r.finish_by_groups)
          .sort(
            (a, b) =>
              b.prototype_groups - a.prototype_groups ||
              a.province_code.localeCompare(b.province_code),
          );
        const sum = (key) => provinces.reduce((n, r) => n + r[key], 0);
        return html`
          <${Targets} programme=${programme} />
          <${Funds} loans=${loans} />
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
              head=${[t("province"), t("prototypes"), t("fullCycle"), t("finished")]}
              numeric=${[1, 2, 3]}
              rows=${provinces.map((r) => [
                html`<a href="#/province/${r.province_code}">${t.named({
                  name_th: r.province_name_th,
                  name_en: r.province_name_en,
                })}</a>`,
                count(r.prototype_groups, t.lang),
                count(r.full_cycle_groups, t.lang),
                count(r.finish_by_groups, t.lang),
              ])}
              foot=${[
                t("total"),
                count(sum("prototype_groups"), t.lang),
                count(sum("full_cycle_groups"), t.lang),
                count(sum("finish_by_groups"), t.lang),
              ]}
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

function Funds({ loans }) {
  const t = useT();
  const funds = loans.fund_totals;
  if (!funds) return null;
  return html`<div class="panel">
    <h2>${t("fundFigures")}</h2>
    <dl class="figures" id="fund-figures">
      <div><dt>${t("budget")}</dt><dd>${thb(funds.budget_satang, t.lang)}</dd></div>
      <div><dt>${t("committed")}</dt><dd>${thb(funds.committed_satang, t.lang)}</dd></div>
      <div><dt>${t("disbursed")}</dt><dd>${thb(funds.disbursed_satang, t.lang)}</dd></div>
      <div><dt>${t("repaid")}</dt><dd>${thb(funds.repaid_satang, t.lang)}</dd></div>
      <div><dt>${t("overdue")}</dt><dd>${thb(loans.totals.arrears_satang, t.lang)}</dd></div>
      <div><dt>${t("available")}</dt><dd>${thb(funds.available_satang, t.lang)}</dd></div>
    </dl>
  </div>`;
}
