// Preloaded into `node-red-dev validate`: catalogue.nodered.org is not reachable from CI, so
// its two checks (P08 similar names, N01 node names taken) get an empty catalogue, and the
// test reports them as not checked. Every other request (the npm registry) goes out as usual.
interface AxiosConfig { url?: string; adapter?: unknown }
const axios = require(require.resolve('axios', { paths: [require.resolve('node-red-dev/package.json')] })) as {
  interceptors: { request: { use(f: (c: AxiosConfig) => AxiosConfig): void } };
};
axios.interceptors.request.use((config) => {
  if (String(config.url).startsWith('https://catalogue.nodered.org/')) {
    config.adapter = async () => ({ data: { modules: [] }, status: 200, statusText: 'OK', headers: {}, config });
  }
  return config;
});
