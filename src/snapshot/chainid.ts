/**
 * snapshot/chainid — OCI chain IDs, which name a stack of layers by its diffIDs. Pure.
 *
 * ChainID(L₀) = DiffID(L₀); ChainID(L₀|…|Lₙ) = sha256(ChainID(L₀|…|Lₙ₋₁) + " " + DiffID(Lₙ))
 * (image-spec config.md, "Layer ChainID").
 */
import { type Digest, digestOf } from '../oci/index.js';

/** The chain ID of a layer stacked on a chain (undefined parent: the bottom layer). */
export function chainIDOf(parentChainID: Digest | undefined, diffID: Digest): Digest {
  return parentChainID === undefined ? diffID : digestOf(`${parentChainID} ${diffID}`);
}

/** The chain IDs of every prefix of a list of diffIDs, bottom first. */
export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIDs) out.push(chainIDOf(out[out.length - 1], d));
  return out;
}
