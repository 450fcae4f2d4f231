// One inference thread: loads its ORT sessions once, then runs batches the pool sends.
// ORT's run() blocks whatever thread calls it, which is why it lives here on a machine
// with CPUs to spare (on one CPU the pool runs the same sessions inline instead).
import { parentPort, workerData } from 'node:worker_threads';
import { OrtSessions, RunRequest, WorkerInit, WorkerReply } from './sessions';

const port = parentPort!;
const sessions = new OrtSessions(workerData as WorkerInit);

sessions.load().then(
  () => port.postMessage({ type: 'ready' } satisfies WorkerReply),
  (err: Error) => port.postMessage({ type: 'load-error', message: err.message } satisfies WorkerReply),
);

port.on('message', (req: RunRequest) => {
  void sessions.run(req).then((reply) => {
    const transfer = reply.type === 'result' ? Object.values(reply.outputs).map((t) => t.data.buffer as ArrayBuffer) : [];
    port.postMessage(reply, transfer);
  });
});

process.on('exit', () => { void sessions.release(); });
