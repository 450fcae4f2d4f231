// A socket.io client as a script would write one: engine.io v4 long-polling over fetch,
// the namespace CONNECT, and events. Enough to do from outside what a dashboard page does
// (Dashboard 2.0 talks to Node-RED over socket.io), without a browser.
const SEP = '\x1e';

export interface SocketIoSession {
  /** 'connected', or the server's refusal (its CONNECT_ERROR message). */
  outcome: string;
  emit(event: string, ...args: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/** Opens a polling session at `url` (…/socket.io/) and connects to the default namespace. */
export async function socketIo(url: string, headers: Record<string, string> = {}): Promise<SocketIoSession> {
  const at = (sid?: string) => `${url}?EIO=4&transport=polling&t=${Date.now().toString(36)}${sid ? `&sid=${sid}` : ''}`;
  const open = await fetch(at(), { headers });
  const opened = await open.text();
  if (!open.ok || !opened.startsWith('0')) return { outcome: `HTTP ${open.status}: ${opened.slice(0, 80)}`, emit: async () => undefined, close: async () => undefined };
  const sid = (JSON.parse(opened.slice(1)) as { sid: string }).sid;
  const post = async (body: string) => {
    const res = await fetch(at(sid), { method: 'POST', headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8' }, body });
    await res.text();
  };
  await post('40');
  let outcome = 'no answer';
  for (let i = 0; i < 5 && outcome === 'no answer'; i++) {
    const packets = (await (await fetch(at(sid), { headers })).text()).split(SEP);
    const reply = packets.find((p) => p.startsWith('40') || p.startsWith('44'));
    if (reply?.startsWith('40')) outcome = 'connected';
    else if (reply) outcome = (JSON.parse(reply.slice(2)) as { message: string }).message;
  }
  return {
    outcome,
    emit: (event, ...args) => post(`42${JSON.stringify([event, ...args])}`),
    close: () => post('41'),
  };
}
