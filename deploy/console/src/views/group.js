// One group: its journey through the stages, members count, products with their
// certification badges, field visits, and loans with their schedules. Members are
// counted, never listed: the console shows no one's personal data.
import { html } from "htm/preact";
import { get, getAll } from "../api.js";
import { Loading, Table, useData } from "../data.js";
import { count, day, moment, thb, todayInBangkok } from "../format.js";
import { useT } from "../i18n.js";

function concerns(id) {
  return (e) => e.subject?.includes(id) || e.data?.group_id === id;
}

export function Group({ id }) {
  const t = useT();
  const state = useData(
    async () => {
      const [group, stages, members, products, visits, loans] = await Promise.all([
        get(`/v1/groups/${id}`),
        getAll(`/v1/groups/${id}/stage-changes`, {}),
        getAll(`/v1/groups/${id}/members`, {}),
        getAll(`/v1/groups/${id}/products`, {}),
        getAll(`/v1/groups/${id}/visits`, {}),
        getAll("/v1/loans", { group_id: id }),
      ]);
      // A loan not yet disbursed has no schedule.
      const schedules = await Promise.all(
        loans.map((l) =>
          l.disbursed_on ? get(`/v1/loans/${l.id}/schedule`) : Promise.resolve({ installments: [] }),
        ),
      );
      const place = await get(`/v1/provinces/${group.province_code}`);
      return { group, stages, members, products, visits, loans, schedules, place };
    },
    [id],
    concerns(id),
  );
  return html`<${Loading} state=${state}>
    ${(d) => html`<section aria-labelledby="view-title">
      <div class="view-head">
        <h1 id="view-title" tabindex="-1">${t.lang === "en" && d.group.name_en ? d.group.name_en : d.group.name_th}</h1>
        <a href="#/province/${d.group.province_code}">${t("provinceOf")} ${t.named(d.place)}</a>
      </div>
      <dl class="figures">
        <div><dt>${t("status")}</dt><dd id="group-status">${t.code("stage", d.group.status)}</dd></div>
        <div><dt>${t("membersCount")}</dt><dd id="group-members">${count(d.members.length, t.lang)}</dd></div>
        <div><dt>${t("products")}</dt><dd>${count(d.products.length, t.lang)}</dd></div>
        <div><dt>${t("loans")}</dt><dd>${count(d.loans.length, t.lang)}</dd></div>
      </dl>
      <div class="panel">
        <h2>${t("journey")}</h2>
        <ol class="timeline" id="group-journey">
          ${[...d.stages]
            .sort((a, b) => a.changed_at.localeCompare(b.changed_at))
            .map(
              (s) => html`<li>
                <strong>${t.code("stage", s.to_stage)}</strong>
                <span> · ${t("fiscalYear")} ${s.fiscal_year}</span>
                <time datetime=${s.changed_at}> · ${moment(s.changed_at, t.lang)}</time>
                ${s.note && html`<p>${s.note}</p>`}
              </li>`,
            )}
        </ol>
      </div>
      <div class="panel">
        <h2>${t("products")}</h2>
        ${d.products.length === 0 && html`<p>${t("none")}</p>`}
        <ul class="products" id="group-products">
          ${d.products.map(
            (p) => html`<li>
              <strong>${t.lang === "en" && p.name_en ? p.name_en : p.name_th}</strong>
              ${p.price_satang != null && html` · ${thb(p.price_satang, t.lang)}`}
              <ul class="badges" aria-label=${t("certifications")}>
                ${p.certifications.map((c) => html`<li><${Badge} cert=${c} /></li>`)}
              </ul>
            </li>`,
          )}
        </ul>
      </div>
      <div class="panel">
        <h2>${t("visits")}</h2>
        <${Table}
          id="group-visits"
          caption=${t("visits")}
          head=${[t("visitedOn"), t("progress"), t("problems")]}
          rows=${[...d.visits]
            .sort((a, b) => b.visited_on.localeCompare(a.visited_on))
            .map((v) => [
              day(v.visited_on, t.lang),
              `${v.progress}${v.progress_percent != null ? ` (${v.progress_percent}%)` : ""}`,
              v.problems.join("; "),
            ])}
        />
      </div>
      <div class="panel">
        <h2>${t("loans")}</h2>
        ${d.loans.length === 0 && html`<p>${t("none")}</p>`}
        ${d.loans.map((loan, i) => html`<${Loan} loan=${loan} schedule=${d.schedules[i]} />`)}
      </div>
    </section>`}
  <//>`;
}

function Badge({ cert }) {
  const t = useT();
  const expired = cert.status === "expired";
  const soon =
    !expired && cert.expires_on && cert.expires_on <= addDays(todayInBangkok(), 30);
  const name = cert.standard === "other" ? cert.standard_name : cert.standard.toUpperCase();
  return html`<span class="badge cert ${expired ? "expired" : soon ? "soon" : "valid"}">
    ${name} ${cert.number} ·
    ${expired
      ? `${t("expired")} ${day(cert.expires_on, t.lang)}`
      : cert.expires_on
        ? `${t("expires")} ${day(cert.expires_on, t.lang)}`
        : t("noExpiry")}
  </span>`;
}

function addDays(isoDay, days) {
  const d = new Date(`${isoDay}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function Loan({ loan, schedule }) {
  const t = useT();
  return html`<article class="loan" data-loan=${loan.id}>
    <h3>${thb(loan.principal_satang, t.lang)} · ${t.code("loanStatus", loan.status)}</h3>
    <p>${loan.purpose}</p>
    <dl class="figures">
      <div><dt>${t("outstanding")}</dt><dd>${thb(loan.outstanding_satang, t.lang)}</dd></div>
      <div><dt>${t("arrears")}</dt><dd>${thb(loan.arrears_satang, t.lang)}</dd></div>
      <div><dt>${t("daysPastDue")}</dt><dd>${count(loan.days_past_due, t.lang)}</dd></div>
    </dl>
    ${schedule.installments.length > 0 &&
    html`<details>
      <summary>${t("schedule")} (${count(schedule.installments.length, t.lang)})</summary>
      <${Table}
      caption=${t("schedule")}
      head=${[t("installment"), t("dueOn"), t("principal"), t("paid"), t("status")]}
      numeric=${[2, 3]}
      rows=${schedule.installments.map((i) => [
        count(i.number, t.lang),
        day(i.due_on, t.lang),
        thb(i.principal_satang, t.lang),
        thb(i.paid_satang, t.lang),
        t.code("installment", i.status),
      ])}
    /></details>`}
  </article>`;
}
