// node-red-node-test-helper ships no types; this is the part the tests use.
declare module 'node-red-node-test-helper' {
  interface Helper {
    init(nodeRedPath: string, settings?: object): void;
    startServer(done: () => void): void;
    stopServer(done: () => void): void;
    load(nodes: unknown[], flow: object[], credentials?: object): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): import('node-red').Node & { receive(msg: object): void };
    settings(s: object): void;
    /** A sinon spy on the runtime's log: each call's first argument is {level, id, type, msg}. */
    log(): { args: [{ level: number; id?: string; type?: string; msg: unknown }][] };
  }
  const helper: Helper;
  export default helper;
}
