// The MQTT topic scheme (DESIGN.md, Delivery). Gateway ids and model ids are restricted
// by the wire format to [A-Za-z0-9._-], so they can never inject '+', '#' or '/'.

export const TAIL_GROUP = 'tails';

export const topics = {
  features: (gateway: string, model: string) => `split/${gateway}/${model}/features`,
  results: (gateway: string, model: string) => `split/${gateway}/${model}/results`,
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
};

export interface TopicParts { gateway: string; model: string | null; kind: string }

/** split/<gateway>/<model>/<kind>, or split/<gateway>/state (no model). */
export function parseTopic(topic: string): TopicParts | null {
  const parts = topic.split('/');
  if (parts[0] !== 'split') return null;
  if (parts.length === 3 && parts[2] === 'state') return { gateway: parts[1], model: null, kind: 'state' };
  if (parts.length !== 4) return null;
  return { gateway: parts[1], model: parts[2], kind: parts[3] };
}
