import { parseCidr } from '@gatehouse/traffic-policy';

/** One address or range of the IP category form, with the (1-based) line of the text area it was written on. */
export interface CidrEntry {
  cidr: string;
  line: number;
}

/**
 * The text area's entries in order: one or more per line (spaces and commas separate them too, people paste both).
 * Blank lines are skipped but still counted, so a message's line number is the one the editor shows.
 */
export function parseCidrEntries(text: string): CidrEntry[] {
  return text.split(/\r?\n/).flatMap((lineText, index) =>
    lineText
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((cidr) => ({ cidr, line: index + 1 })),
  );
}

/** A readable message for one bad entry: where it is, what it is, and what is expected (or what the API said). */
export function describeBadCidr(
  entry: CidrEntry,
  problem = 'is not an IPv4 or IPv6 address or CIDR (e.g. 203.0.113.0/24, 2001:db8::/32)',
): string {
  return `Line ${entry.line}: "${entry.cidr}" ${problem}`;
}

/**
 * The entries the engine cannot parse, checked with the same parser the API and the data planes use (a zone id or
 * a leading-zero octet would be refused by the API anyway). Null when every entry is fine.
 */
export function cidrProblems(text: string): string | null {
  const bad = parseCidrEntries(text).filter((entry) => parseCidr(entry.cidr) === undefined);
  return bad.length === 0 ? null : bad.map((entry) => describeBadCidr(entry)).join('\n');
}
