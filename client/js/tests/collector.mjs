// A real ldp-aggregator on an ephemeral port, for the package's tests. The binary comes from
// $LDP_AGGREGATOR (scripts/test-js.sh sets it).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function startCollector() {
  const binary = process.env.LDP_AGGREGATOR;
  if (!binary) {
    throw new Error('set LDP_AGGREGATOR to an ldp-aggregator binary (scripts/test-js.sh does)');
  }
  const home = mkdtempSync(join(tmpdir(), 'ldp-js-'));
  const database = `sqlite://${join(home, 'ldp.db')}`;
  const env = { ...process.env, LDP_LOG: 'warn' };
  const token = (role) =>
    execFileSync(binary, ['token', 'create', '--role', role, '--database', database], { env }).toString().trim();
  const admin = token('admin');
  const analyst = token('analyst');
  const address = join(home, 'address');
  const log = openSync(join(home, 'server.log'), 'w');
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--address-file', address, '--database', database],
    { env, stdio: ['ignore', 'ignore', log] });
  for (let polls = 0; !existsSync(address) || !readFileSync(address, 'utf8').trim(); polls++) {
    if (server.exitCode !== null || polls > 12_000) {
      throw new Error(`the collector did not start: ${readFileSync(join(home, 'server.log'), 'utf8')}`);
    }
    await sleep(10);
  }
  const url = `http://${readFileSync(address, 'utf8').trim()}`;
  const request = async (method, path, token, body) => {
    const response = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body && JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  };
  return {
    url,
    home,
    createCampaign: (spec) => request('POST', '/v1/campaigns', admin, spec),
    estimates: (campaign) => request('GET', `/v1/campaigns/${campaign}/estimates`, analyst),
    stop: () => server.kill('SIGKILL'),
  };
}
