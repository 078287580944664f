// One province: groups by stage and occupation, training sessions with their fill rate and
// waitlists, loans by days past due, and market sales by partner.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get, getAll } from "../api.js";
import { BarChart } from "../charts.js";
import { inProvince, Loading, Table, useData } from "../data.js";
import { bps, count, currentFiscalYear, day, percent, thb } from "../format.js";
import { PARTNERS, STAGES, useT } from "../i18n.js";
import { FiscalYearPicker } from "./national.js";

export function Province({ code }) {
  const t = useT();
  const [year, setYear] = useState(currentFiscalYear());
  const affected = inProvince(code);
  const place = useData(() => get(`/v1/provinces/${code}`), [code]);
  return html`<section aria-labelledby="view-title">
    <div class="view-head">
      <h1 id="view-title" tabindex="-1">
        ${t("provinceOf")} ${place.data ? t.named(place.data) : code}
      </h1>
      <${FiscalYearPicker} value=${year} onChange=${setYear} />
    </div>
    <${Groups} code=${code} year=${year} affected=${affected} />
    <${Sessions} code=${code} affected=${affected} />
    <${Loans} code=${code} affected=${affected} />
    <${Sales} code=${code} year=${year} affected=${affected} />
  </section>`;
}

function Groups({ code, year, affected }) {
  const t = useT();
  const state = useData(
    async () => {
      const [stages, groups, occupations] = await Promise.all([
        get("/v1/stats/groups-by-stage", { province: code, fiscal_year: year }),
        getAll("/v1/groups", { province: code }),
        get("/v1/groups/occupations"),
      ]);
      return { stages, groups, occupations: occupations.items };
    },
    [code, year],
    (e) => e.type.startsWith("group.") && affected(e),
  );
  return html`<${Loading} state=${state}>
    ${({ stages, groups, occupations }) => {
      const totals = Object.fromEntries(stages.totals.map((r) => [r.stage, r.groups]));
      const cross = new Map();
      for (const g of groups) {
        const row = cross.get(g.occupation) ?? {};
        row[g.status] = (row[g.status] ?? 0) + 1;
        cross.set(g.occupation, row);
      }
      const named = Object.fromEntries(occupations.map((o) => [o.code, o]));
      return html`<div class="panel">
          <h2>${t("groupsByStage")}</h2>
          <${BarChart}
            labels=${STAGES.map((s) => t.code("stage", s))}
            series=${[{ label: t("groups"), data: STAGES.map((s) => totals[s] ?? 0) }]}
            height=${200}
          />
          <${Table}
            id="province-stages"
            caption=${t("groupsByStage")}
            head=${[t("stage"), t("groups")]}
            numeric=${[1]}
            rows=${STAGES.map((s) => [t.code("stage", s), count(totals[s] ?? 0, t.lang)])}
          />
        </div>
        <div class="panel">
          <h2>${t("groupsByOccupation")}</h2>
          <${Table}
            id="province-occupations"
            caption=${t("groupsByOccupation")}
            head=${[t("occupation"), ...STAGES.map((s) => t.code("stage", s)), t("total")]}
            numeric=${STAGES.map((_, i) => i + 1).concat([STAGES.length + 1])}
            rows=${[...cross.entries()].map(([occupation, row]) => [
              t.named(named[occupation]) || occupation,
              ...STAGES.map((s) => count(row[s] ?? 0, t.lang)),
              count(Object.values(row).reduce((a, b) => a + b, 0), t.lang),
            ])}
          />
        </div>
        <div class="panel">
          <h2>${t("groupList")}</h2>
          <ul class="group-list" id="province-groups">
            ${groups.map(
              (g) =>
                html`<li>
                  <a href="#/group/${g.id}">${t.lang === "en" && g.name_en ? g.name_en : g.name_th}</a>
                  <span class="badge">${t.code("stage", g.status)}</span>
                </li>`,
            )}
          </ul>
        </div>`;
    }}
  <//>`;
}

function Sessions({ code, affected }) {
  const t = useT();
  const state = useData(
    async () => {
      const [sessions, courses] = await Promise.all([
        getAll("/v1/training-sessions", { province: code }),
        getAll("/v1/courses", {}),
      ]);
      return { sessions, courses: Object.fromEntries(courses.map((c) => [c.id, c])) };
    },
    [code],
    (e) => (e.type.startsWith("session.") || e.type.startsWith("enrollment.")) && affected(e),
  );
  return html`<div class="panel">
    <h2>${t("sessions")}</h2>
    <${Loading} state=${state}>
      ${({ sessions, courses }) =>
        html`<${Table}
          id="province-sessions"
          caption=${t("sessions")}
          head=${[
            t("course"),
            t("startsOn"),
            t("mode"),
            t("capacity"),
            t("confirmed"),
            t("fillRate"),
            t("waitlist"),
            t("status"),
          ]}
          numeric=${[3, 4, 5, 6]}
          rows=${sessions.map((s) => {
            const course = courses[s.course_id];
            return [
              course ? (t.lang === "en" ? course.title_en || course.title_th : course.title_th) : "–",
              day(s.starts_on, t.lang),
              t.code("mode", s.mode),
              count(s.capacity, t.lang),
              html`<span data-session=${s.id} data-field="confirmed">${count(s.confirmed_count, t.lang)}</span>`,
              html`<meter min="0" max=${s.capacity} value=${s.confirmed_count} aria-hidden="true"></meter>
                ${percent(s.confirmed_count, s.capacity, t.lang)}`,
              html`<span data-session=${s.id} data-field="waitlist">${count(s.waitlist_count, t.lang)}</span>`,
              t.code("sessionStatus", s.status),
            ];
          })}
        />`}
    <//>
  </div>`;
}

function Loans({ code, affected }) {
  const t = useT();
  const state = useData(
    async () => {
      const [stats, loans] = await Promise.all([
        get("/v1/stats/loans", { province: code }),
        getAll("/v1/loans", { province: code }),
      ]);
      return { stats, loans };
    },
    [code],
    (e) => e.type.startsWith("loan.") && affected(e),
  );
  return html`<div class="panel">
    <h2>${t("loans")}</h2>
    <${Loading} state=${state}>
      ${({ stats, loans }) => {
        const row = stats.rows.find((p) => p.province_code === code);
        if (!row) return html`<p>${t("none")}</p>`;
        return html`<dl class="figures" id="province-loan-figures">
            <div><dt>${t("committed")}</dt><dd>${thb(row.committed_satang, t.lang)}</dd></div>
            <div><dt>${t("disbursed")}</dt><dd>${thb(row.disbursed_satang, t.lang)}</dd></div>
            <div><dt>${t("repaid")}</dt><dd>${thb(row.repaid_satang, t.lang)}</dd></div>
            <div><dt>${t("outstanding")}</dt><dd>${thb(row.outstanding_satang, t.lang)}</dd></div>
            <div><dt>${t("arrears")}</dt><dd>${thb(row.arrears_satang, t.lang)}</dd></div>
            <div><dt>${t("parShare")}</dt><dd>${bps(row.par_bps, t.lang)}</dd></div>
          </dl>
          <${Table}
            id="province-par"
            caption=${t("parBuckets")}
            head=${[t("bucket"), t("count"), t("outstanding"), t("arrears"), t("share")]}
            numeric=${[1, 2, 3, 4]}
            rows=${row.buckets.map((b) => [
              bucketLabel(b, t),
              count(b.loans, t.lang),
              thb(b.outstanding_satang, t.lang),
              thb(b.arrears_satang, t.lang),
              bps(b.share_bps, t.lang),
            ])}
          />
          <${Table}
            id="province-loans"
            caption=${t("loanList")}
            head=${[t("group"), t("principal"), t("status"), t("outstanding"), t("daysPastDue")]}
            numeric=${[1, 3, 4]}
            rows=${loans.map((l) => [
              html`<a href="#/group/${l.group_id}">${l.group_name_th}</a>`,
              thb(l.principal_satang, t.lang),
              t.code("loanStatus", l.status),
              thb(l.outstanding_satang, t.lang),
              count(l.days_past_due, t.lang),
            ])}
          />`;
      }}
    <//>
  </div>`;
}

export function bucketLabel(b, t) {
  if (b.max_days_past_due === null || b.max_days_past_due === undefined) {
    return `${b.min_days_past_due}+ ${t("daysPastDue")}`;
  }
  if (b.max_days_past_due === 0) return t.lang === "th" ? "ไม่ค้างชำระ" : "Current";
  return `${b.min_days_past_due}–${b.max_days_past_due} ${t("daysPastDue")}`;
}

function Sales({ code, year, affected }) {
  const t = useT();
  const state = useData(
    () => get("/v1/stats/market-sales", { province: code, fiscal_year: year }),
    [code, year],
    (e) => e.type.startsWith("market_link.") && affected(e),
  );
  return html`<div class="panel">
    <h2>${t("marketSales")}</h2>
    <${Loading} state=${state}>
      ${(stats) => {
        const by = Object.fromEntries(stats.rows.map((r) => [r.partner, r]));
        return html`<${BarChart}
            horizontal
            labels=${PARTNERS.map((p) => t.code("partner", p))}
            series=${[{ label: t("salesTHB"), data: PARTNERS.map((p) => (by[p]?.sales_satang ?? 0) / 100) }]}
            height=${200}
          />
          <${Table}
            id="province-sales"
            caption=${t("marketSales")}
            head=${[t("partner"), t("links"), t("groups"), t("sales")]}
            numeric=${[1, 2, 3]}
            rows=${PARTNERS.map((p) => [
              t.code("partner", p),
              count(by[p]?.links ?? 0, t.lang),
              count(by[p]?.groups ?? 0, t.lang),
              thb(by[p]?.sales_satang ?? 0, t.lang),
            ])}
            foot=${[t("total"), "", "", thb(stats.sales_satang, t.lang)]}
          />`;
      }}
    <//>
  </div>`;
}
