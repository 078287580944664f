// Kept out of index.html so the Content-Security-Policy needs no 'unsafe-inline' script.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    tryItOutEnabled: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    validatorUrl: null,
    oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect.html",
  });
  // "Authorize" with the authorization code flow: enter the client_id of an app
  // registered with redirect URI <gateway>/docs/oauth2-redirect.html; no secret.
  window.ui.initOAuth({
    usePkceWithAuthorizationCodeGrant: true,
    scopeSeparator: " ",
  });
});
