// Compiled (not run) by scripts/test-js.sh with `tsc --noEmit --strict`: the package's
// declarations describe the calls an app makes, with the types it expects.
import { Client, IndexedDbStore, MemoryStore, type PrivacySpent, type Store, type UploadSummary } from '../package/index.js';
import { FileStore } from '../package/node.js';

async function example(): Promise<void> {
  const store: Store = new MemoryStore();
  const client: Client = await Client.open({ collectorUrl: 'https://telemetry.example.com', store, releaseWindowSeconds: 60 });
  await client.record('emoji', '😂');
  await client.record('level', 3.5);
  await client.recordIndex('level', 3);
  const summary: UploadSummary = await client.uploadPending();
  const next: number | null = summary.nextDue;
  const spent: PrivacySpent = client.privacySpent('emoji');
  const epsilon: number = spent.lifetimeEpsilon + spent.epochs.reduce((a, e) => a + e.epsilon, 0);
  const bound: number | null = spent.maxLifetimeEpsilon;
  const drawn: number = spent.permanentResponses;
  await client.setUploadEnabled(!client.uploadEnabled());
  const acknowledged: number = client.counter('acknowledged_reports');
  await client.flush();
  await client.close();
  const stores: Store[] = [new IndexedDbStore(), new IndexedDbStore('app'), new FileStore('/tmp/state')];
  try {
    await client.record('emoji', '😂');
  } catch (e) {
    if (e instanceof Error && (e.name === 'BudgetExhausted' || e.name === 'LifetimeBudgetExhausted')) {
      return;
    }
  }
  void [next, epsilon, bound, drawn, acknowledged, stores];
}

void example;
