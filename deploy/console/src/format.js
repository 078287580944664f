// Money arrives in satang and is shown in baht; dates are Asia/Bangkok business dates.
const LOCALES = { th: "th-TH", en: "en-GB" };

export function thb(satang, lang) {
  if (satang === null || satang === undefined) return "–";
  return new Intl.NumberFormat(LOCALES[lang], {
    style: "currency",
    currency: "THB",
    minimumFractionDigits: 2,
  }).format(satang / 100);
}

export function count(value, lang) {
  return new Intl.NumberFormat(LOCALES[lang]).format(value ?? 0);
}

export function percent(part, whole, lang) {
  if (!whole) return "–";
  return new Intl.NumberFormat(LOCALES[lang], { style: "percent", maximumFractionDigits: 0 }).format(
    part / whole,
  );
}

export function bps(value, lang) {
  return new Intl.NumberFormat(LOCALES[lang], { style: "percent", maximumFractionDigits: 2 }).format(
    (value ?? 0) / 10000,
  );
}

// A business date (YYYY-MM-DD) is a calendar day already: formatted as is, never shifted.
export function day(text, lang) {
  if (!text) return "–";
  const [y, m, d] = text.slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

// An instant (RFC 3339) as Bangkok sees it.
export function moment(text, lang) {
  if (!text) return "–";
  return new Intl.DateTimeFormat(LOCALES[lang], {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "Asia/Bangkok",
  }).format(new Date(text));
}

export function todayInBangkok() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Bangkok" }).format(new Date());
}

/** The Buddhist Era fiscal year (1 October – 30 September) of today in Bangkok. */
export function currentFiscalYear() {
  const [y, m] = todayInBangkok().split("-").map(Number);
  return (m >= 10 ? y + 1 : y) + 543;
}
