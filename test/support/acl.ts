// The broker-side settings of the README's "Security settings": a password per gateway
// (its MQTT username is its gateway id), one for the tails, and the per-gateway ACL, read
// from the README itself so that what the tests run is what the README tells operators.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startMosquitto, Mosquitto, MosquittoOptions } from './mosquitto';
import { REPO } from './paths';

export const USERS: Record<string, string> = { 'gw-a': 'pw-a', 'gw-b': 'pw-b', evil: 'pw-evil', tails: 'pw-tails' };

function readmeAcl(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const m = /```\n(pattern write split\/%u\/\+\/features\n[\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no per-gateway ACL block (Security settings)');
  return m[1];
}

export const ACL = readmeAcl();

/** mosquitto with the README's password file and ACL (and TLS when given). */
export function startSecureBroker(extra: MosquittoOptions = {}): Promise<Mosquitto> {
  return startMosquitto({ users: USERS, acl: ACL, ...extra });
}
