// Fails when an export of the public entries has no summary or no @example in its TSDoc.
// Reads the JSON that `typedoc` writes next to the HTML reference (docs/api/api.json).
import { readFileSync } from 'node:fs';

const KINDS = new Map([
  [128, 'class'],
  [64, 'function'],
  [256, 'interface'],
  [2097152, 'type'],
  [32, 'variable'],
]);

const project = JSON.parse(readFileSync('docs/api/api.json', 'utf8'));
const hasExample = (comment) => comment?.blockTags?.some((tag) => tag.tag === '@example') === true;
const hasSummary = (comment) => (comment?.summary ?? []).some((part) => part.text.trim() !== '');

const problems = [];
const visit = (node, path) => {
  for (const child of node.children ?? []) {
    if (child.kind === 2) {
      visit(child, `${path}${child.name}/`);
      continue;
    }
    const kind = KINDS.get(child.kind);
    if (kind === undefined) continue;
    const comments = [child.comment, ...(child.signatures ?? []).map((s) => s.comment)];
    const name = `${path}${child.name} (${kind})`;
    if (!comments.some(hasSummary)) problems.push(`${name}: no summary`);
    if (!comments.some(hasExample)) problems.push(`${name}: no @example`);
  }
};
visit(project, '');

if (problems.length > 0) {
  console.error(`API docs: ${problems.length} export(s) lack TSDoc:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
}
console.log('API docs: every export has a summary and an example (docs/api/index.html)');
