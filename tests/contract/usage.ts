// How a mobile developer uses the generated types: if the contract changes in a
// way that breaks this, `tsc` fails and so does `make test`.
import createClient from "openapi-fetch";
import type { components, paths } from "../../build/clients/typescript/otog";

type Problem = components["schemas"]["Problem"];
type Token = components["schemas"]["TokenResponse"];

export async function signIn(baseUrl: string, clientId: string, secret: string): Promise<string> {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.POST("/v1/oauth/token", {
    body: { grant_type: "client_credentials", client_id: clientId, client_secret: secret },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  });
  if (error) {
    const problem: Problem = error;
    throw new Error(`${problem.status} ${problem.title}: ${problem.detail ?? ""}`);
  }
  const token: Token = data;
  return token.access_token;
}

export async function whoAmI(baseUrl: string, accessToken: string): Promise<string[]> {
  const client = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  const { data, error } = await client.GET("/v1/clients/me");
  if (error) {
    throw new Error(error.type);
  }
  return data.scopes;
}
