import { TestConfigServer } from '../test/helpers/config-server.js';

/** The authtoken the agent benches' agents present (the config server accepts it). */
export const agentBenchToken = 'gh_bench_token_0123456789';

/** A started config server (no Redis: the data planes poll it) that accepts `agentBenchToken`. */
export async function agentBenchConfig(): Promise<TestConfigServer> {
  const config = new TestConfigServer(undefined);
  await config.start();
  config.authtokens.set(agentBenchToken, { revoked: false });
  return config;
}

/** A cloud endpoint on `host` whose policy sends every request to the internal endpoint at `internalUrl`. */
export async function gatewayTo(
  config: TestConfigServer,
  id: string,
  host: string,
  internalUrl: string,
): Promise<void> {
  await config.upsertEndpoint({
    id,
    url: `http://${host}`,
    traffic_policy: `on_http_request:\n  - actions: [{ type: forward-internal, config: { url: "${internalUrl}" } }]\n`,
  });
}
