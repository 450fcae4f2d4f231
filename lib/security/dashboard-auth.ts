// The dashboard's lock: Dashboard 2.0 serves /dashboard and its socket.io beside the
// editor, and Node-RED's adminAuth covers neither. With logins configured, both need one
// (HTTP Basic, the same user and password as the editor, or a separate viewer login), via
// Dashboard 2.0's own hooks: `dashboard.middleware` for its routes and
// `dashboard.ioMiddleware` for every socket.io connection, which replaces its default
// check, so that check (no direct websocket, no cross-origin) is kept here too.
import { createHash, timingSafeEqual } from 'node:crypto';

/** A login: user name and bcrypt hash (what adminAuth holds). */
export interface Login { username: string; password: string }

type Compare = (password: string, hash: string) => Promise<boolean>;

/** Checks Authorization headers; a header once accepted is remembered (bcrypt costs ~20 ms a try). */
export class BasicAuth {
  private readonly accepted = new Set<string>();

  constructor(private readonly logins: readonly Login[], private readonly compare: Compare, readonly realm = 'split-dnn dashboard') {}

  async check(header: string | undefined): Promise<boolean> {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
    if (!m) return false;
    const digest = createHash('sha256').update(m[1]).digest('hex');
    if (this.accepted.has(digest)) return true;
    const plain = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) return false;
    const user = Buffer.from(plain.slice(0, colon));
    const login = this.logins.find((l) => l.username.length === user.length && timingSafeEqual(Buffer.from(l.username), user));
    if (!login || !(await this.compare(plain.slice(colon + 1), login.password))) return false;
    if (this.accepted.size >= 64) this.accepted.clear();
    this.accepted.add(digest);
    return true;
  }
}

interface Req { headers: Record<string, string | string[] | undefined>; url?: string }
interface Res { status(code: number): Res; set(name: string, value: string): Res; send(body: string): unknown }
interface IoSocket { request: Req; handshake: { xdomain: boolean }; client: { conn: { close(): void } } }

/** `dashboard` settings for Node-RED: the HTTP routes and the socket.io connections both need a login. */
export function dashboardSettings(auth: BasicAuth) {
  const header = (req: Req) => {
    const h = req.headers.authorization;
    return Array.isArray(h) ? h[0] : h;
  };
  return {
    middleware: (req: Req, res: Res, next: () => void) => {
      auth.check(header(req)).then((ok) => {
        if (ok) return next();
        res.set('WWW-Authenticate', `Basic realm="${auth.realm}", charset="UTF-8"`).status(401).send('login required');
      }, () => res.status(500).send('login check failed'));
    },
    ioMiddleware: (socket: IoSocket, next: (err?: Error) => void) => {
      // Dashboard 2.0's own default, which a custom ioMiddleware replaces.
      if ((socket.request.url ?? '').includes('transport=websocket')) return socket.client.conn.close();
      if (socket.handshake.xdomain) return next(new Error('cross-origin connections are refused'));
      auth.check(header(socket.request)).then((ok) => next(ok ? undefined : new Error('login required')), () => next(new Error('login check failed')));
    },
  };
}
