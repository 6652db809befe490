/**
 * The chart of RESULTS.md, as a plain SVG: CPU per chunk of llm-ws and socket.io relative to the
 * bare relay for each streaming workload, and heap per idle session of each arm.
 */
import type { StreamFigures } from './run';

type ArmName = 'bare' | 'llm-ws' | 'socket.io';

const COLORS: Record<ArmName, string> = { bare: '#9aa0a6', 'llm-ws': '#1a73e8', 'socket.io': '#e37400' };
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(
  streaming: ReadonlyArray<{ workload: { name: string }; arms: Partial<Record<ArmName, StreamFigures>> }>,
  idle: Record<ArmName, { heapKbPerSession: number }>,
): string {
  const width = 900;
  const rowHeight = 26;
  const left = 230;
  const plotWidth = width - left - 40;
  const parts: string[] = [];
  let y = 30;
  const heading = (text: string): void => {
    parts.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${escape(text)}</text>`);
    y += 16;
  };
  const legend = (names: ArmName[]): void => {
    names.forEach((name, i) => {
      parts.push(
        `<rect x="${left + i * 120}" y="${y}" width="12" height="12" fill="${COLORS[name]}"/><text x="${left + i * 120 + 18}" y="${y + 11}" font-size="12">${name}</text>`,
      );
    });
    y += 24;
  };

  heading('CPU µs per chunk, relative to the bare ws + openai relay (lower is better; target for llm-ws: 0.8)');
  legend(['llm-ws', 'socket.io']);
  // Every streaming workload runs the three arms charted here (issue 16's arms are in RESULTS.md's tables).
  const cpuRatio = (row: (typeof streaming)[number], name: ArmName): number =>
    (row.arms[name]?.cpuUsPerChunk ?? Number.NaN) / (row.arms.bare?.cpuUsPerChunk ?? Number.NaN);
  const maxRatio = Math.max(
    2,
    ...streaming.flatMap((row) => [cpuRatio(row, 'llm-ws'), cpuRatio(row, 'socket.io')]).filter(Number.isFinite),
  );
  const scale = plotWidth / maxRatio;
  const top = y;
  for (const row of streaming) {
    parts.push(
      `<text x="${left - 8}" y="${y + 16}" font-size="12" text-anchor="end">${escape(row.workload.name)}</text>`,
    );
    (['llm-ws', 'socket.io'] as const).forEach((name, i) => {
      const value = cpuRatio(row, name);
      const barY = y + 2 + i * 11;
      parts.push(
        `<rect x="${left}" y="${barY}" width="${Math.max(1, value * scale).toFixed(1)}" height="10" fill="${COLORS[name]}"/>`,
      );
      parts.push(
        `<text x="${(left + value * scale + 4).toFixed(1)}" y="${barY + 9}" font-size="10">${value.toFixed(2)}x</text>`,
      );
    });
    y += rowHeight;
  }
  for (const mark of [0.8, 1]) {
    const x = (left + mark * scale).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${y}" stroke="#444" stroke-dasharray="${mark === 1 ? '4 3' : '2 2'}"/>`,
    );
    parts.push(`<text x="${x}" y="${y + 12}" font-size="10" text-anchor="middle">${mark}x</text>`);
  }
  y += 40;

  heading('Heap per idle session, KB (lower is better; target for llm-ws: bare + 4 KB)');
  const names: ArmName[] = ['bare', 'llm-ws', 'socket.io'];
  const maxHeap = Math.max(1, ...names.map((name) => idle[name].heapKbPerSession));
  for (const name of names) {
    const value = idle[name].heapKbPerSession;
    parts.push(`<text x="${left - 8}" y="${y + 13}" font-size="12" text-anchor="end">${name}</text>`);
    parts.push(
      `<rect x="${left}" y="${y + 2}" width="${Math.max(1, (value / maxHeap) * plotWidth * 0.8).toFixed(1)}" height="14" fill="${COLORS[name]}"/>`,
    );
    parts.push(
      `<text x="${(left + (value / maxHeap) * plotWidth * 0.8 + 4).toFixed(1)}" y="${y + 13}" font-size="11">${value.toFixed(1)} KB</text>`,
    );
    y += 22;
  }
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
