import type { DiagramNode, DiagramNodeKind } from '../../processes/diagram.js';
import { escapeHtml } from './html.js';

/**
 * A process's flow as server-rendered SVG: one box per step, top to bottom, with who decides, what adds the step,
 * the systems it calls and its deadline. No script, no external fonts: it renders anywhere an image does.
 */

const WIDTH = 720;
const BOX_X = 40;
const BOX_WIDTH = WIDTH - 2 * BOX_X;
const LINE = 17;
const PAD = 12;
const GAP = 30;
const CHARS_PER_LINE = 86;

const palette: Record<DiagramNodeKind, { fill: string; stroke: string; label: string }> = {
  approval: { fill: '#eff6ff', stroke: '#1d4ed8', label: 'Approval' },
  task: { fill: '#fff7ed', stroke: '#c2410c', label: 'Task' },
  system: { fill: '#f0fdf4', stroke: '#15803d', label: 'System' },
  wait: { fill: '#fefce8', stroke: '#a16207', label: 'Waits' },
  form: { fill: '#faf5ff', stroke: '#7e22ce', label: 'Form' },
  end: { fill: '#f3f4f6', stroke: '#374151', label: 'End' },
};

function wrap(text: string, width = CHARS_PER_LINE): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

interface Line {
  text: string;
  weight?: 'bold';
  muted?: boolean;
}

function nodeLines(node: DiagramNode): Line[] {
  const lines: Line[] = wrap(`${palette[node.kind].label}: ${node.title}`, 70).map((text) => ({ text, weight: 'bold' as const }));
  const field = (label: string, value: string | undefined, muted = false) => {
    if (value) lines.push(...wrap(`${label}: ${value}`).map((text) => ({ text, muted })));
  };
  field('Only when', node.when);
  field('Who', node.who);
  field('Systems', node.systems?.join(', '));
  field('Deadline', node.deadline, true);
  field('Otherwise', node.otherwise, true);
  return lines;
}

export function diagramSvg(title: string, nodes: DiagramNode[], caption: string): string {
  const parts: string[] = [];
  let y = 56;
  for (const [index, node] of nodes.entries()) {
    const lines = nodeLines(node);
    const height = PAD * 2 + lines.length * LINE;
    const { fill, stroke } = palette[node.kind];
    const dashed = node.when ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<g id="step-${escapeHtml(node.id)}"><rect x="${BOX_X}" y="${y}" width="${BOX_WIDTH}" height="${height}" rx="10" fill="${fill}" stroke="${stroke}" stroke-width="2"${dashed}/>`);
    lines.forEach((line, i) => {
      const attrs = `${line.weight ? ' font-weight="bold"' : ''}${line.muted ? ' fill="#4b5563"' : ' fill="#111827"'}`;
      parts.push(`<text x="${BOX_X + PAD}" y="${y + PAD + 13 + i * LINE}" font-size="13"${attrs}>${escapeHtml(line.text)}</text>`);
    });
    parts.push('</g>');
    y += height;
    if (index < nodes.length - 1) {
      parts.push(`<line x1="${WIDTH / 2}" y1="${y}" x2="${WIDTH / 2}" y2="${y + GAP - 6}" stroke="#6b7280" stroke-width="2" marker-end="url(#arrow)"/>`);
      y += GAP;
    }
  }
  const height = y + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(title)}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="9" markerWidth="8" markerHeight="8"><path d="M0,0 L10,0 L5,10 z" fill="#6b7280"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${BOX_X}" y="30" font-size="18" font-weight="bold" fill="#111827">${escapeHtml(title)}</text>
<text x="${BOX_X}" y="48" font-size="12" fill="#4b5563">${escapeHtml(caption)}</text>
${parts.join('\n')}
<text x="${BOX_X}" y="${height - 14}" font-size="11" fill="#6b7280">Dashed: a step that only some runs have.</text>
</svg>`;
}
