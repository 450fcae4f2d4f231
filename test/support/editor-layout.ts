// What the Node-RED editor drew for the open tab, read from its SVG (d3 keeps each node's,
// group's and wire's data on the element): nodes that overlap, nodes outside their group or
// off the canvas, groups that overlap, and wires that run through a node they do not connect.
import type { Page } from 'playwright-core';

export interface Layout { nodes: number; groups: number; wires: number; problems: string[] }

export function editorLayout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    type Box = { id: string; x: number; y: number; w: number; h: number; g?: string; type?: string };
    const data = <T>(sel: string) => Array.from(document.querySelectorAll(`#red-ui-workspace-chart ${sel}`)).map((e) => (e as unknown as { __data__: T }).__data__).filter(Boolean);
    // Node data is centred (x, y); group data is top-left.
    const nodes: Box[] = data<Box>('g.red-ui-flow-node-group').map((d) => ({ id: d.id, type: d.type, g: d.g, x: d.x - d.w / 2, y: d.y - d.h / 2, w: d.w, h: d.h }));
    const groups: Box[] = data<Box>('g.red-ui-flow-group').map((d) => ({ id: d.id, x: d.x, y: d.y, w: d.w, h: d.h }));
    const inside = (p: { x: number; y: number }, b: Box, m = 0) => p.x > b.x + m && p.x < b.x + b.w - m && p.y > b.y + m && p.y < b.y + b.h - m;
    const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const name = (b: Box) => `${b.type ?? 'group'} ${b.id}`;
    const problems: string[] = [];
    for (const [i, a] of nodes.entries()) {
      if (a.x < 0 || a.y < 0) problems.push(`${name(a)} is off the canvas at (${Math.round(a.x)}, ${Math.round(a.y)})`);
      for (const b of nodes.slice(i + 1)) if (overlap(a, b)) problems.push(`${name(a)} overlaps ${name(b)}`);
      const g = groups.find((x) => x.id === a.g);
      if (a.g && !(g && a.x >= g.x && a.y >= g.y && a.x + a.w <= g.x + g.w && a.y + a.h <= g.y + g.h)) problems.push(`${name(a)} is outside its group ${a.g}`);
    }
    for (const [i, a] of groups.entries()) for (const b of groups.slice(i + 1)) if (overlap(a, b)) problems.push(`${name(a)} overlaps ${name(b)}`);
    const links = Array.from(document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-link'));
    for (const el of links) {
      const d = (el as unknown as { __data__: { source: { id: string }; target: { id: string } } }).__data__;
      const wire = el.querySelector('path.red-ui-flow-link-path') as SVGPathElement | null;
      if (!d || !wire) continue;
      const length = wire.getTotalLength();
      for (let s = 1; s < 40; s++) {
        const p = wire.getPointAtLength((length * s) / 40);
        const hit = nodes.find((n) => n.id !== d.source.id && n.id !== d.target.id && inside(p, n, 1));
        if (hit) { problems.push(`the wire ${d.source.id} → ${d.target.id} runs through ${name(hit)}`); break; }
      }
    }
    return { nodes: nodes.length, groups: groups.length, wires: links.length, problems };
  });
}
