/** "1 hit", "2,048 hits": the count in en-US digits and the word that agrees with it. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}
