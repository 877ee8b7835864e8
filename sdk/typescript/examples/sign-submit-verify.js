// Sign an event with an organisation's key, submit it, wait for its commit, and verify the
// consignment's route from the genesis alone. Run by test/live.test.js against a devnet; the
// part between the markers is the README's TypeScript example.
//
//   node examples/sign-submit-verify.js http://127.0.0.1:7100 devnet 6NL1234567890-DEMO
import { readFileSync } from 'node:fs';
import { Genesis, KeyPair, NodeClient, LightClient, signEvent, commitDetails } from '@tradelog/sdk';

export async function signSubmitVerify(url, devnet, ucr) {
  // example: begin
  const genesis = Genesis.fromJson(readFileSync(`${devnet}/nl-customs/genesis.json`)); // the trust root
  const key = KeyPair.fromKeyFile(readFileSync(`${devnet}/keys/blue-anchor-lines.key`, 'utf8'));
  const { details, disclosures } = commitDetails({ hs_code: '850760' }); // salted commitments
  const event = signEvent({
    chain: genesis.chain, kind: 'booked', time: Date.now(), ucr, details,
    issuer: { org: 'blue-anchor-lines', key: key.publicKey },
  }, key);
  const node = new NodeClient(url);
  await node.submit(event); // 202 pending; a refusal throws NodeError {status, code, message}
  await node.waitCommitted(event.id);
  const { route } = await new LightClient(node, genesis).route(ucr); // RouteError if anything is off
  // example: end
  return { event, route, disclosures };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [url, devnet, ucr] = process.argv.slice(2);
  const { event, route } = await signSubmitVerify(url, devnet, ucr);
  console.log(`committed ${event.id}; route of ${route.ucr} verified: ${route.timeline.length} events`);
}
