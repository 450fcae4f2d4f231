// split-head's bounded queue: Node-RED hands every message to 'input' at once, so without
// this a source faster than the model queues frames without bound. Shed frames end with
// done() (no error: shedding is the configured behaviour) and are counted; a second output
// tells sources to pause while the queue is filling up and to resume when it has drained.
import type { Node, NodeMessageInFlow } from 'node-red';
import { Admission, AdmissionCounts, parsePolicy, processAdmissions } from '../../lib/admission';
import type { Send } from '../common/node-kit';

export interface AdmitDef { queue?: string | number; concurrency?: string | number; policy?: string; keepEvery?: string | number }

interface Job { msg: NodeMessageInFlow; send: Send; done: (err?: Error) => void }

export const ADMIT_DEFAULTS = { queue: 64, concurrency: 16 };

/**
 * Registers the input handler behind an admission queue. `handler` runs at most
 * `concurrency` frames at once (the pool batches them); a rejection becomes done(err).
 */
export function admitInput(
  node: Node,
  def: AdmitDef,
  handler: (msg: NodeMessageInFlow, send: Send) => Promise<void>,
  on: { error(err: Error): void; change(): void },
): { counts(): AdmissionCounts } {
  const admission = new Admission<Job>({
    capacity: Number(def.queue) || ADMIT_DEFAULTS.queue,
    concurrency: Number(def.concurrency) || ADMIT_DEFAULTS.concurrency,
    policy: parsePolicy(def.policy),
    keepEvery: Number(def.keepEvery) || 2,
  }, {
    run: (job) => handler(job.msg, job.send).then(() => job.done(), (err: Error) => { on.error(err); job.done(err); }),
    shed: (job) => { job.done(); on.change(); },
    pressure: (full) => {
      const c = admission.counts();
      node.send([null, { topic: 'backpressure', payload: full ? 'pause' : 'resume', waiting: c.waiting, shed: c.shed }]);
    },
  });
  const forget = processAdmissions.add(admission);
  node.on('input', (msg, send, done) => admission.offer({ msg, send, done }));
  node.on('close', () => { admission.clear(); forget(); });
  return admission;
}
