// The programme console: a single page on the public API, signed in as an officer.
import { html } from "htm/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get } from "./api.js";
import { completeSignIn, SignedOut, signIn, signOut } from "./auth.js";
import { currentLang, Lang, setLang, translator, useT } from "./i18n.js";
import { startLive, stopLive } from "./live.js";
import { Group } from "./views/group.js";
import { TileMap } from "./views/map.js";
import { National } from "./views/national.js";
import { Province } from "./views/province.js";

function parseRoute() {
  const [, view = "", arg = ""] = location.hash.split("/");
  return { view, arg: decodeURIComponent(arg) };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const changed = () => {
      setRoute(parseRoute());
      // Keyboard and screen-reader users land on the new view's heading.
      requestAnimationFrame(() => document.getElementById("view-title")?.focus());
    };
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function App() {
  const [lang, setLangState] = useState(currentLang());
  const [session, setSession] = useState({ state: "starting" });
  const route = useRoute();
  const t = translator(lang);

  useEffect(() => {
    completeSignIn()
      .then(async (signedIn) => {
        if (!signedIn) return setSession({ state: "signed-out" });
        const me = await get("/v1/clients/me");
        setSession({ state: "signed-in", me });
        startLive();
      })
      .catch((error) =>
        setSession({ state: "signed-out", error: error instanceof SignedOut ? null : error.message }),
      );
  }, []);

  useEffect(() => {
    const ended = () => {
      stopLive();
      setSession({ state: "signed-out" });
    };
    addEventListener("otog:signed-out", ended);
    return () => removeEventListener("otog:signed-out", ended);
  }, []);

  const switchLang = () => {
    const next = lang === "th" ? "en" : "th";
    setLang(next);
    setLangState(next);
  };
  const leave = async () => {
    stopLive();
    await signOut();
    setSession({ state: "signed-out" });
  };

  return html`<${Lang.Provider} value=${t}>
    <a class="skip" href="#main" onClick=${skipToMain}>${t("skip")}</a>
    <header class="top">
      <p class="brand">${t("title")}</p>
      ${session.state === "signed-in" && html`<${Nav} me=${session.me} route=${route} />`}
      <div class="actions">
        <button type="button" id="switch-language" lang=${lang === "th" ? "en" : "th"}
          aria-label=${t("switchLanguageLabel")} onClick=${switchLang}>${t("switchLanguage")}</button>
        ${session.state === "signed-in" &&
        html`<button type="button" id="sign-out" onClick=${leave}>${t("signOut")}</button>`}
      </div>
    </header>
    <main id="main" tabindex="-1">
      ${session.state === "starting" && html`<p aria-busy="true">${t("loading")}</p>`}
      ${session.state === "signed-out" &&
      html`<section class="panel signin" aria-labelledby="view-title">
        <h1 id="view-title" tabindex="-1">${t("signIn")}</h1>
        <p>${t("signInLead")}</p>
        ${session.error && html`<p class="error" role="alert">${session.error}</p>`}
        <button type="button" id="sign-in" class="primary" onClick=${() => signIn(lang)}>
          ${t("signIn")}
        </button>
      </section>`}
      ${session.state === "signed-in" && html`<${View} me=${session.me} route=${route} />`}
    </main>
  <//>`;
}

function skipToMain(event) {
  event.preventDefault();
  document.getElementById("main").focus();
}

function Nav({ me, route }) {
  const t = useT();
  const current = (view) => (route.view === view ? "page" : undefined);
  return html`<nav aria-label=${t("nav")}>
    <ul>
      ${me.province
        ? html`<li><a href="#/province/${me.province}" aria-current=${current("province")}>${t("province")}</a></li>`
        : html`<li><a href="#/national" aria-current=${current("national")}>${t("national")}</a></li>
            <li><a href="#/map" aria-current=${current("map")}>${t("map")}</a></li>`}
    </ul>
  </nav>`;
}

function View({ me, route }) {
  const t = useT();
  // A province officer is bound to one province: the console never offers another, and an
  // address naming another is refused here before the API refuses it too.
  if (me.province) {
    if (route.view === "group") return html`<${Group} id=${route.arg} />`;
    if (route.view === "province" && route.arg && route.arg !== me.province) {
      return html`<section class="panel" aria-labelledby="view-title">
        <h1 id="view-title" tabindex="-1">${t("province")}</h1>
        <p class="error" role="alert" id="not-allowed">${t("notAllowed")}</p>
        <p><a href="#/province/${me.province}">${t("province")} ${me.province}</a></p>
      </section>`;
    }
    return html`<${Province} code=${me.province} />`;
  }
  if (route.view === "map") return html`<${TileMap} />`;
  if (route.view === "province" && /^[0-9]{2}$/.test(route.arg)) {
    return html`<${Province} code=${route.arg} />`;
  }
  if (route.view === "group" && route.arg) return html`<${Group} id=${route.arg} />`;
  return html`<${National} />`;
}


render(html`<${App} />`, document.getElementById("app"));
