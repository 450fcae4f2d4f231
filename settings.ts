// Node-RED settings for the embedded runtime that `split-dnn start` runs. Secure by
// default: the caller binds the editor to 127.0.0.1 (and refuses any other address without
// a password), the admin API is locked whenever an admin password is given and the
// dashboard with it (Dashboard 2.0 reads `dashboard`), and the credential key comes from
// the environment.
import * as path from 'node:path';
import { BasicAuth, dashboardSettings, Login } from './lib/security/dashboard-auth';

export type Role = 'all' | 'edge' | 'cloud';

export interface SettingsOptions {
  role: Role;
  /** small: the Pi-budget profile (one inference thread, smaller batches, slower status repaints). */
  profile?: 'default' | 'small';
  /** false: the flow has no ui-* node, so Dashboard 2.0 is not put on the node path. */
  dashboard?: boolean;
  /** Core node files to leave out (see leanCoreExcludes). */
  coreExcludes?: string[];
  userDir: string;
  flowFile: string;
  /** Folder holding this package, so Node-RED loads its nodes without an install step. */
  packageRoot: string;
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
}

interface AdminUser { username: string; password: string; permissions: string }

/**
 * adminAuth from SPLIT_DNN_ADMIN_PASSWORD_HASH (a bcrypt hash, preferred) or
 * SPLIT_DNN_ADMIN_PASSWORD (hashed here at start), user SPLIT_DNN_ADMIN_USER (admin).
 */
// bcryptjs ships with node-red; the cost matches Node-RED's own admin tool.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = () => require('bcryptjs') as { hashSync(p: string, rounds: number): string; compare(p: string, hash: string): Promise<boolean> };

/** A bcrypt hash from `<prefix>_HASH`, or `<prefix>` hashed here at start. */
function passwordHash(env: NodeJS.ProcessEnv, prefix: string): string | undefined {
  const hash = env[`${prefix}_HASH`];
  if (hash) return hash;
  const plain = env[prefix];
  return plain ? bcrypt().hashSync(plain, 8) : undefined;
}

export function adminAuthFromEnv(env: NodeJS.ProcessEnv): { type: 'credentials'; users: AdminUser[] } | undefined {
  const hash = passwordHash(env, 'SPLIT_DNN_ADMIN_PASSWORD');
  if (!hash) return undefined;
  return { type: 'credentials', users: [{ username: env.SPLIT_DNN_ADMIN_USER || 'admin', password: hash, permissions: '*' }] };
}

/**
 * Who may open the dashboard: the editor's login, and a viewer login from
 * SPLIT_DNN_DASHBOARD_PASSWORD(_HASH) (user SPLIT_DNN_DASHBOARD_USER, default viewer) that
 * opens the dashboard only. Empty: the dashboard is as open as the editor.
 */
export function dashboardLogins(env: NodeJS.ProcessEnv, admin: { users: AdminUser[] } | undefined): Login[] {
  const logins: Login[] = (admin?.users ?? []).map(({ username, password }) => ({ username, password }));
  const viewer = passwordHash(env, 'SPLIT_DNN_DASHBOARD_PASSWORD');
  if (viewer) logins.push({ username: env.SPLIT_DNN_DASHBOARD_USER || 'viewer', password: viewer });
  return logins;
}

/**
 * Where Dashboard 2.0 is installed, seen from this package or from node-red (it is an
 * optional peer dependency); null when it is not.
 */
export function dashboardDir(packageRoot: string): string | null {
  for (const from of [packageRoot, 'node-red']) {
    try {
      const base = from === 'node-red' ? path.dirname(require.resolve('node-red/package.json')) : from;
      return path.dirname(require.resolve('@flowfuse/node-red-dashboard/package.json', { paths: [base] }));
    } catch { /* try the next place */ }
  }
  return null;
}

/**
 * Core nodes whose libraries weigh most on a gateway (got, cheerio, xml2js, js-yaml: 14 MB
 * of RSS, 5 MB of heap on an edge), by file, with the types each registers.
 */
export const HEAVY_CORE_NODES: Readonly<Record<string, readonly string[]>> = {
  '21-httprequest.js': ['http request'],
  '70-HTML.js': ['html'],
  '70-XML.js': ['xml'],
  '70-YAML.js': ['yaml'],
};

/** The heavy core node files a flow of these types does not use (what the small profile leaves out). */
export function leanCoreExcludes(flowTypes: Iterable<string>): string[] {
  const used = new Set(flowTypes);
  return Object.entries(HEAVY_CORE_NODES).filter(([, types]) => !types.some((t) => used.has(t))).map(([file]) => file);
}

export function buildSettings(opts: SettingsOptions): Record<string, unknown> {
  const env = opts.env ?? process.env;
  const adminAuth = adminAuthFromEnv(env);
  const logins = dashboardLogins(env, adminAuth);
  return {
    userDir: opts.userDir,
    flowFile: path.basename(opts.flowFile),
    flowFilePretty: true,
    // Node-RED finds modules beside itself and in the user dir; Dashboard 2.0 (the flows'
    // ui-* nodes) may be installed beside this package instead, so it is named here too.
    // A flow with no ui-* node does not load Dashboard 2.0 at all (tens of MB of modules).
    // Dashboard 2.0 installed beside Node-RED is found by the module scan too: excluded by name.
    nodesDir: [opts.packageRoot, opts.dashboard === false ? null : dashboardDir(opts.packageRoot)].filter(Boolean),
    ...(opts.dashboard === false || opts.coreExcludes?.length ? { nodesExcludes: [...(opts.dashboard === false ? ['node-red-dashboard'] : []), ...(opts.coreExcludes ?? [])] } : {}),
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    // Without a secret Node-RED generates one into .config.runtime.json and warns; a
    // fleet wants the same secret from its secret store on every gateway.
    credentialSecret: env.SPLIT_DNN_CREDENTIAL_SECRET || undefined,
    ...(adminAuth ? { adminAuth } : {}),
    // Dashboard 2.0 reads `dashboard`: its pages and socket.io locked with the editor.
    ...(logins.length ? { dashboard: dashboardSettings(new BasicAuth(logins, (p, h) => bcrypt().compare(p, h))) } : {}),
    editorTheme: {
      page: { title: `split-dnn (${opts.role})` },
      header: { title: `split-dnn · ${opts.role}` },
      tours: false,
      projects: { enabled: false },
    },
    externalModules: { palette: { allowInstall: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    logging: { console: { level: opts.logLevel ?? env.SPLIT_DNN_LOG_LEVEL ?? 'info', metrics: false, audit: false } },
    functionExternalModules: false,
    // The key model updates must be signed with (split-ota): pinned per runtime, not per flow.
    // role and profile tell split-model which side's sessions to load at start, and the budget.
    splitDnn: { otaPublicKey: env.SPLIT_DNN_OTA_PUBLIC_KEY || undefined, role: opts.role, profile: opts.profile ?? 'default' },
  };
}
