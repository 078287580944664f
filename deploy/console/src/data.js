// Loads a view's figures and loads them again when the event feed says they changed.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "./i18n.js";
import { subscribe } from "./live.js";

export function useData(load, deps, affected = () => true) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [version, setVersion] = useState(0);
  const affectedRef = useRef(affected);
  affectedRef.current = affected;
  useEffect(
    () =>
      subscribe((events) => {
        if (events.some((e) => affectedRef.current(e))) setVersion((v) => v + 1);
      }),
    [],
  );
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ loading: false, data, error: null, at: new Date() }),
      (error) => live && setState((s) => ({ loading: false, data: s.data, error })),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  return state;
}

/** An event about a province (its own or a national one) concerns that province's view. */
export function inProvince(code) {
  return (event) => !event.provincecode || !code || event.provincecode === code;
}

export function Loading({ state, children }) {
  const t = useT();
  if (state.error && !state.data) {
    return html`<p class="error" role="alert">${t("error")}: ${state.error.message}</p>`;
  }
  if (!state.data) return html`<p aria-busy="true">${t("loading")}</p>`;
  return children(state.data);
}

export function Table({ caption, head, rows, foot, id, numeric = [] }) {
  const t = useT();
  const cls = (i) => (numeric.includes(i) ? "num" : undefined);
  return html`<div class="table-wrap">
    <table id=${id}>
      <caption>${caption}</caption>
      <thead>
        <tr>${head.map((h, i) => html`<th scope="col" class=${cls(i)}>${h}</th>`)}</tr>
      </thead>
      <tbody>
        ${rows.length === 0
          ? html`<tr><td colspan=${head.length}>${t("none")}</td></tr>`
          : rows.map(
              (row) =>
                html`<tr>
                  ${row.map((cell, i) =>
                    i === 0
                      ? html`<th scope="row">${cell}</th>`
                      : html`<td class=${cls(i)}>${cell}</td>`,
                  )}
                </tr>`,
            )}
      </tbody>
      ${foot &&
      html`<tfoot>
        <tr>
          ${foot.map((cell, i) =>
            i === 0 ? html`<th scope="row">${cell}</th>` : html`<td class=${cls(i)}>${cell}</td>`,
          )}
        </tr>
      </tfoot>`}
    </table>
  </div>`;
}
