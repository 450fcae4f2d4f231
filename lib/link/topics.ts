// The MQTT topic scheme (DESIGN.md, Delivery). Gateway ids and model ids are restricted
// by the wire format to [A-Za-z0-9._-], so they can never inject '+', '#' or '/'.

export const TAIL_GROUP = 'tails';

export const topics = {
  features: (gateway: string, model: string) => `split/${gateway}/${model}/features`,
  results: (gateway: string, model: string) => `split/${gateway}/${model}/results`,
  /** Wire v2 (the model is named inside the frame): one topic each way per gateway, short on every message. */
  frames: (gateway: string) => `split/${gateway}/f`,
  answers: (gateway: string) => `split/${gateway}/r`,
  allFrames: (shared: boolean, group = TAIL_GROUP) => (shared ? `$share/${group}/split/+/f` : 'split/+/f'),
  allAnswers: 'split/+/r',
  /** Retained birth/death frames: who is live. */
  state: (gateway: string) => `split/${gateway}/state`,
  /** What a gateway subscribes to for its answers, across model updates. */
  resultsFor: (gateway: string) => `split/${gateway}/+/results`,
  allStates: 'split/+/state',
  /** Every gateway's answers: tails in a shared group hear each other's. */
  allResults: 'split/+/+/results',
  /**
   * Tails subscribe to every gateway's frames: as an MQTT 5 shared subscription, so each
   * frame goes to exactly one tail of the group; plain on 3.1.1 brokers (aedes) that
   * have no shared subscriptions, which suits a single tail.
   */
  allFeatures: (shared: boolean, group = TAIL_GROUP) => (shared ? `$share/${group}/split/+/+/features` : 'split/+/+/features'),
  // The control plane (docs/fleet.md). A group name sits behind '~', which a gateway id
  // cannot hold, so `split/~<group>/...` never collides with a gateway's own topics.
  /** Retained update offer for one gateway, or for every gateway of a group. */
  otaOffer: (gateway: string) => `split/${gateway}/ota/offer`,
  otaGroupOffer: (group: string) => `split/~${group}/ota/offer`,
  /** Chunk requests from a gateway to the bundle publisher, and the chunks back. */
  otaFetch: (gateway: string) => `split/${gateway}/ota/fetch`,
  otaFetchAll: 'split/+/ota/fetch',
  otaChunk: (gateway: string) => `split/${gateway}/ota/chunk`,
  /** Update progress and outcomes, as the gateway sees them. */
  otaReport: (gateway: string) => `split/${gateway}/ota/report`,
  otaReportAll: 'split/+/ota/report',
  /** Retained health status; ping in, pong out. */
  status: (gateway: string) => `split/${gateway}/status`,
  allStatus: 'split/+/status',
  ping: (gateway: string) => `split/${gateway}/ping`,
  pingAll: 'split/~all/ping',
  pong: (gateway: string) => `split/${gateway}/pong`,
  allPongs: 'split/+/pong',
};

/** Group names, like gateway ids, are limited to [A-Za-z0-9._-]. */
export const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface TopicParts { gateway: string; model: string | null; kind: string }

const SHORT_KINDS: Record<string, string> = { state: 'state', f: 'frames', r: 'answers' };

/** split/<gateway>/<model>/<kind>, or split/<gateway>/{state,f,r} (no model: kinds state, frames, answers). */
export function parseTopic(topic: string): TopicParts | null {
  const parts = topic.split('/');
  if (parts[0] !== 'split') return null;
  if (parts.length === 3 && SHORT_KINDS[parts[2]]) return { gateway: parts[1], model: null, kind: SHORT_KINDS[parts[2]] };
  if (parts.length !== 4) return null;
  return { gateway: parts[1], model: parts[2], kind: parts[3] };
}

/** Whether a topic matches an MQTT filter with + and # wildcards. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
