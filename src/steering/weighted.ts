// Weighted random choice, with the random source injected so tests can pin it.
export type Random = () => number;

/** Index chosen with probability weight/sum; -1 when every weight is 0. `random` returns [0, 1). */
export function pickWeighted(weights: number[], random: Random): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total <= 0) return -1;
  let remaining = random() * total;
  for (let index = 0; index < weights.length; index += 1) {
    remaining -= weights[index]!;
    if (remaining < 0 && weights[index]! > 0) return index;
  }
  return weights.findLastIndex((weight) => weight > 0);
}

/** The chosen item first, the others after it in their original order. */
export function chosenFirst<T>(items: T[], chosenIndex: number): T[] {
  if (chosenIndex <= 0) return [...items];
  return [items[chosenIndex]!, ...items.slice(0, chosenIndex), ...items.slice(chosenIndex + 1)];
}

/** FNV-1a, for stable hash-based origin choice. */
export function hashString(value: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index += 1) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
