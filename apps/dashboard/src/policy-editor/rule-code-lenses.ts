import { parse, phases, type Phase } from '@gatehouse/traffic-policy';
import type { components } from '@gatehouse/api-client';
import { plural } from '../lib/plural';

export type PolicyRuleStats = components['schemas']['PolicyRuleStats'];
type RuleStats = components['schemas']['RuleStats'];
type RuleCounterWindow = components['schemas']['RuleCounterWindow'];

export interface RuleLens {
  /** 1-based line of the rule's first key: Monaco shows the lens above it. */
  line: number;
  phase: Phase;
  ruleIndex: number;
  title: string;
}

/**
 * One lens per rule of the text in the editor, titled with the counters of the same phase and rule index of the
 * counted version. Counters follow position: when the text is not that version, the title says which version counted.
 * Text that does not parse gets no lenses (lines would point nowhere).
 */
export function ruleLenses(
  text: string,
  stats: PolicyRuleStats | undefined,
  activeText: string | undefined,
  now: number,
): RuleLens[] {
  if (stats === undefined || stats.policy_version === null) return [];
  const parsed = parse(text);
  const document = parsed.document;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return [];
  const byRule = new Map(stats.rules.map((rule) => [`${rule.phase}:${rule.rule_index}`, rule]));
  const edited = activeText !== undefined && activeText !== text;
  const lenses: RuleLens[] = [];
  for (const phase of phases) {
    const rules = (document as Record<string, unknown>)[phase];
    if (!Array.isArray(rules)) continue;
    for (let ruleIndex = 0; ruleIndex < rules.length; ruleIndex++) {
      const { line } = parsed.locate([phase, ruleIndex]);
      const counted = byRule.get(`${phase}:${ruleIndex}`);
      const prefix = edited ? `v${stats.policy_version} rule ${ruleIndex + 1}: ` : '';
      lenses.push({ line, phase, ruleIndex, title: prefix + describeRule(counted, now) });
    }
  }
  return lenses;
}

/** "last hour: 120 hits, 4 denies, +0.04 ms · last day: … · last match 3 min ago". */
export function describeRule(rule: RuleStats | undefined, now: number): string {
  if (rule === undefined) return 'not reached in the last day';
  const lastMatch = rule.last_match_at === null ? 'no match' : `last match ${ago(Date.parse(rule.last_match_at), now)}`;
  return `last hour: ${describeWindow(rule.last_hour)} · last day: ${describeWindow(rule.last_day)} · ${lastMatch}`;
}

function describeWindow(window: RuleCounterWindow): string {
  const latency = window.avg_latency_ms === null ? '' : `, +${formatMs(window.avg_latency_ms)}`;
  return `${plural(window.hits, 'hit')}, ${plural(window.denies, 'deny', 'denies')}${latency}`;
}

function formatMs(milliseconds: number): string {
  return milliseconds >= 10 ? `${Math.round(milliseconds)} ms` : `${milliseconds.toPrecision(2)} ms`;
}

function ago(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.round(minutes / 60)} h ago`;
}
